// Writes `<file>.br` (brotli, quality 11) and `<file>.gz` (gzip, level 9) beside every file of
// the site that compresses: the server sends these bytes as they are (server/src/assets.rs)
// instead of compressing on every download. Node's zlib is the compressor: it is on every
// machine that builds Perch (npm installs the build tools) and compresses natively.
//
// Usage: node scripts/precompress.mjs <site directory>
import { readdirSync, readFileSync, writeFileSync, statSync } from "node:fs";
import { join, extname } from "node:path";
import { brotliCompressSync, gzipSync, constants } from "node:zlib";

const COMPRESSIBLE = new Set([".wasm", ".js", ".css", ".svg", ".html", ".json", ".txt", ".xml", ".map"]);

function* files(dir) {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) yield* files(path);
    else yield path;
  }
}

const root = process.argv[2];
if (!root) {
  console.error("usage: node scripts/precompress.mjs <site directory>");
  process.exit(2);
}
for (const path of [...files(root)]) {
  if (!COMPRESSIBLE.has(extname(path))) continue;
  const raw = readFileSync(path);
  const br = brotliCompressSync(raw, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
      [constants.BROTLI_PARAM_LGWIN]: constants.BROTLI_MAX_WINDOW_BITS,
      [constants.BROTLI_PARAM_SIZE_HINT]: raw.length,
    },
  });
  const gz = gzipSync(raw, { level: 9 });
  // A variant no smaller than the file itself is not worth a second copy in the binary.
  if (br.length < raw.length) writeFileSync(`${path}.br`, br);
  if (gz.length < raw.length) writeFileSync(`${path}.gz`, gz);
}
