//! Who is asking: the client address a request came from, as sign-in throttling counts it.
//!
//! The socket peer is the client, unless the peer is one of `PERCH_TRUSTED_PROXIES` (the reverse
//! proxy the README prescribes): then the client is the rightmost `X-Forwarded-For` entry that is
//! not itself a trusted proxy. Entries to the left of it were written by the client and prove
//! nothing; the header of an untrusted peer is never read at all.

use std::net::IpAddr;

/// `PERCH_TRUSTED_PROXIES`: addresses and CIDR ranges whose `X-Forwarded-For` is believed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<(IpAddr, u8)>);

impl TrustedProxies {
    /// Parses a comma-separated list of addresses (`127.0.0.1`, `::1`) and ranges
    /// (`10.0.0.0/8`, `fd00::/8`); empty means none.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let mut nets = Vec::new();
        for item in raw.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (addr, len) = match item.split_once('/') {
                Some((a, l)) => (a, Some(l)),
                None => (item, None),
            };
            let addr: IpAddr = addr
                .parse()
                .map_err(|_| format!("`{item}` is not an IP address or a CIDR range such as 10.0.0.0/8"))?;
            let addr = addr.to_canonical();
            let max = if addr.is_ipv4() { 32 } else { 128 };
            let len = match len {
                None => max,
                Some(l) => l
                    .parse::<u8>()
                    .ok()
                    .filter(|l| *l <= max)
                    .ok_or_else(|| format!("`{item}`: the prefix length must be 0 to {max}"))?,
            };
            nets.push((addr, len));
        }
        Ok(Self(nets))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|(net, len)| match (net, ip) {
            (IpAddr::V4(n), IpAddr::V4(i)) => prefix_eq(&n.octets(), &i.octets(), *len),
            (IpAddr::V6(n), IpAddr::V6(i)) => prefix_eq(&n.octets(), &i.octets(), *len),
            _ => false,
        })
    }

    /// The client behind `peer`, given the request's `X-Forwarded-For` values in order.
    pub fn client(&self, peer: IpAddr, forwarded_for: &[&str]) -> IpAddr {
        let mut client = peer.to_canonical();
        if !self.contains(client) {
            return client;
        }
        let hops: Vec<&str> = forwarded_for.iter().flat_map(|v| v.split(',')).map(str::trim).collect();
        for hop in hops.into_iter().rev() {
            match hop.parse::<IpAddr>() {
                Ok(ip) => {
                    client = ip.to_canonical();
                    if !self.contains(client) {
                        return client;
                    }
                }
                // Garbage in the chain: the last hop a trusted proxy vouched for is the client.
                Err(_) => return client,
            }
        }
        client
    }
}

fn prefix_eq(a: &[u8], b: &[u8], len: u8) -> bool {
    let (bytes, bits) = ((len / 8) as usize, len % 8);
    if a[..bytes] != b[..bytes] {
        return false;
    }
    bits == 0 || (a[bytes] ^ b[bytes]) >> (8 - bits) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ranges_and_addresses_parse_and_match() {
        let t = TrustedProxies::parse(" 127.0.0.1, 10.0.0.0/8 ,fd00::/8, 192.168.1.0/25").unwrap();
        assert!(t.contains(ip("127.0.0.1")) && t.contains(ip("10.200.3.4")) && t.contains(ip("fd12::1")));
        assert!(t.contains(ip("::ffff:127.0.0.1")), "an IPv4-mapped peer is its IPv4 address");
        assert!(t.contains(ip("192.168.1.127")) && !t.contains(ip("192.168.1.128")));
        assert!(!t.contains(ip("127.0.0.2")) && !t.contains(ip("11.0.0.1")) && !t.contains(ip("fe80::1")));
        assert!(TrustedProxies::parse("").unwrap().is_empty());
        for bad in ["localhost", "10.0.0.0/33", "::/129", "1.2.3.4/x", "1.2.3"] {
            assert!(TrustedProxies::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_client_is_the_rightmost_untrusted_hop_behind_a_trusted_peer() {
        let t = TrustedProxies::parse("127.0.0.1, 10.0.0.0/8").unwrap();
        // Untrusted peer: its header is ignored, whatever it says.
        assert_eq!(t.client(ip("203.0.113.9"), &["1.1.1.1"]), ip("203.0.113.9"));
        // Trusted peer: the rightmost untrusted entry; what the client wrote on the left is ignored.
        assert_eq!(t.client(ip("127.0.0.1"), &["6.6.6.6, 198.51.100.7"]), ip("198.51.100.7"));
        assert_eq!(t.client(ip("127.0.0.1"), &["6.6.6.6", "198.51.100.7, 10.1.1.1"]), ip("198.51.100.7"));
        // Only trusted hops, no header, or garbage: the last trusted hop.
        assert_eq!(t.client(ip("127.0.0.1"), &[]), ip("127.0.0.1"));
        assert_eq!(t.client(ip("127.0.0.1"), &["10.2.2.2"]), ip("10.2.2.2"));
        assert_eq!(t.client(ip("127.0.0.1"), &["6.6.6.6, nonsense"]), ip("127.0.0.1"));
        // No trusted proxies: the peer, always.
        assert_eq!(TrustedProxies::default().client(ip("127.0.0.1"), &["6.6.6.6"]), ip("127.0.0.1"));
    }
}
