//! How a token request's answer is read: the HTTP client the oauth2 crate is given (which looks
//! at the status before the body), and X's token answers and errors as Perch's types.

use super::*;

/// Why a token request got no answer to read as X's word.
#[derive(Debug, thiserror::Error)]
pub(super) enum TokenHttpError {
    #[error("the request to X failed")]
    Send(oauth2::HttpClientError<reqwest::Error>),
    /// 429 or 5xx: X is not answering the question now.
    #[error("X answered HTTP {0}")]
    Unavailable(u16),
}

/// The HTTP client of token requests: reqwest, deciding by the status first. A 429 or a 5xx is
/// X being unavailable whatever its body says, even an OAuth-shaped `error` (which the oauth2
/// crate would read as a refusal, and a refused refresh marks the account).
pub(super) struct StatusFirst<'a>(pub(super) &'a reqwest::Client);

impl<'c> oauth2::AsyncHttpClient<'c> for StatusFirst<'_> {
    type Error = TokenHttpError;
    type Future =
        std::pin::Pin<Box<dyn Future<Output = Result<oauth2::HttpResponse, TokenHttpError>> + Send + Sync + 'c>>;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(async move {
            let response = oauth2::AsyncHttpClient::call(self.0, request).await.map_err(TokenHttpError::Send)?;
            let status = response.status().as_u16();
            if status == 429 || status >= 500 {
                return Err(TokenHttpError::Unavailable(status));
            }
            Ok(response)
        })
    }
}

type OAuthResult = Result<
    oauth2::basic::BasicTokenResponse,
    oauth2::RequestTokenError<TokenHttpError, oauth2::basic::BasicErrorResponse>,
>;

pub(super) fn tokens_from(answer: OAuthResult, requested: &[&str]) -> Result<Tokens, TokenError> {
    use oauth2::TokenResponse as _;
    let t = answer.map_err(token_error)?;
    let scopes = match t.scopes() {
        Some(s) => s.iter().map(|s| s.to_string()).collect(),
        None => requested.iter().map(|s| (*s).to_owned()).collect(),
    };
    Ok(Tokens {
        access_token: SecretString::from(t.access_token().secret().to_owned()),
        refresh_token: t.refresh_token().map(|r| SecretString::from(r.secret().to_owned())),
        // X says 7200; an answer without it is taken as the same two hours.
        expires_in: t.expires_in().map_or(7200, |d| d.as_secs().min(i64::MAX as u64) as i64),
        scopes,
    })
}

/// What an oauth2 failure means, without anything that was sent (no code, token or secret).
fn token_error(e: oauth2::RequestTokenError<TokenHttpError, oauth2::basic::BasicErrorResponse>) -> TokenError {
    use oauth2::RequestTokenError as E;
    match e {
        E::ServerResponse(r) => TokenError::Refused {
            error: clip(r.error().as_ref()),
            description: r.error_description().map(|d| clip(d)).unwrap_or_default(),
        },
        E::Request(TokenHttpError::Unavailable(429)) => TokenError::Unreachable(
            "X's token endpoint answered HTTP 429 (too many requests); try again later".to_owned(),
        ),
        E::Request(TokenHttpError::Unavailable(status)) => {
            TokenError::Unreachable(format!("X's token endpoint answered HTTP {status} (a problem on X's side)"))
        }
        E::Request(TokenHttpError::Send(oauth2::HttpClientError::Reqwest(e))) => {
            TokenError::Unreachable(describe_send_error(&e))
        }
        E::Request(TokenHttpError::Send(_)) => TokenError::Unreachable("the connection to X failed".to_owned()),
        E::Parse(_, _) => TokenError::Unreachable("X answered with something that is not an OAuth answer".to_owned()),
        E::Other(why) => TokenError::Unreachable(format!("X's answer was unexpected ({})", clip(&why))),
    }
}
