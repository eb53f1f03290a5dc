import { defineConfig } from '@playwright/test';

// The server under test is the release binary, copied alone into an empty directory by
// scripts/test.sh (PERCH_E2E_DIR), so these tests also prove the single-binary promise.
const dir = process.env.PERCH_E2E_DIR;
if (!dir) {
  throw new Error('PERCH_E2E_DIR is not set: run the end-to-end tests through scripts/test.sh');
}
const port = process.env.PERCH_E2E_PORT ?? '3180';
export const baseURL = `http://127.0.0.1:${port}`;
// The fake X (fake-x/src/main.rs), copied beside the binary by scripts/test.sh.
const fakeXPort = process.env.PERCH_E2E_FAKE_X_PORT ?? '3190';
export const fakeXURL = `http://127.0.0.1:${fakeXPort}`;

export default defineConfig({
  testDir: './tests',
  fullyParallel: true,
  workers: 2,
  retries: 0,
  timeout: 30_000,
  expect: { timeout: 10_000 },
  reporter: [['list']],
  outputDir: './test-results',
  use: {
    baseURL,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      // Without the networking flags Chromium floods the closed network with connection attempts.
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
      ],
    },
  },
  projects: [
    { name: 'js', use: { javaScriptEnabled: true } },
    { name: 'nojs', use: { javaScriptEnabled: false } },
  ],
  webServer: [
    {
      command: `./fake-x --listen 127.0.0.1:${fakeXPort}`,
      cwd: dir,
      url: `${fakeXURL}/_fake/switches`,
      reuseExistingServer: false,
      timeout: 30_000,
      stdout: 'ignore',
      stderr: 'pipe',
    },
    {
      command: './perch serve',
      cwd: dir,
      url: `${baseURL}/healthz`,
      reuseExistingServer: false,
      timeout: 60_000,
      stdout: 'pipe',
      stderr: 'pipe',
      env: {
        PERCH_LISTEN: `127.0.0.1:${port}`,
        PERCH_PUBLIC_URL: baseURL,
        PERCH_DATA_DIR: `${dir}/data`,
        PERCH_X_API_URL: fakeXURL,
        PERCH_X_AUTHORIZE_URL: `${fakeXURL}/i/oauth2/authorize`,
        // Each test's page sends an X-Forwarded-For of its own (tests/helpers.ts).
        PERCH_TRUSTED_PROXIES: '127.0.0.1',
        // The accounts pager test connects 51 accounts within a minute (the default allows 30).
        PERCH_CONNECT_RATE_LIMIT: '120',
        RUST_LOG: process.env.RUST_LOG ?? 'info',
      },
    },
  ],
});
