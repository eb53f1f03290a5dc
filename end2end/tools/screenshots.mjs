// Takes screenshots of every page as a user sees them, at laptop and phone widths.
//   node tools/screenshots.mjs http://127.0.0.1:3000 /tmp/shots [http://127.0.0.1:3190]
// With the third argument (a fake X, fake-x/src/main.rs, that Perch points at), the tour
// also sets up the Twitter integration.
// Signs up a throwaway organization on the instance it is pointed at.
import { chromium } from '@playwright/test';
import { mkdirSync } from 'node:fs';

const base = process.argv[2] ?? 'http://127.0.0.1:3000';
const out = process.argv[3] ?? '/tmp/perch-shots';
const fakeX = process.argv[4];

async function registerApp() {
  const res = await fetch(`${fakeX}/_fake/apps`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ callback_urls: [`${base}/oauth/callback/twitter`] }),
  });
  return res.json();
}
mkdirSync(out, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
});

for (const [label, viewport] of [['laptop', { width: 1280, height: 800 }], ['phone', { width: 390, height: 844 }]]) {
  const page = await browser.newPage({ viewport });
  const errors = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  const shot = async (name) => page.screenshot({ path: `${out}/${label}-${name}.png`, fullPage: true });
  const hydrated = () => page.waitForSelector('body[data-hydrated]', { timeout: 10000 }).catch(() => {});

  await page.goto(`${base}/signup`); await hydrated(); await shot('signup');
  await page.getByLabel('Organization name').fill('Northwind Agency');
  const email = `tour-${label}-${Date.now()}@example.com`;
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill('correct horse battery staple');
  await page.getByRole('button', { name: 'Create organization' }).click();
  // Sign-up never signs in (a taken email gets the same answer): the sign-in page says what next.
  await page.waitForURL(/\/login\?signed_up=1$/); await hydrated(); await shot('login-signed-up');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill('correct horse battery staple');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/brands$/); await hydrated(); await shot('brands-empty');
  for (const name of ['Blue Bottle Coffee', 'Acme Outdoor', 'Acme outdoor']) {
    await page.getByLabel('Brand name').fill(name);
    await page.getByRole('button', { name: 'Add brand' }).click();
    await page.waitForTimeout(400);
  }
  await shot('brands');
  await page.getByRole('link', { name: 'Blue Bottle Coffee' }).click();
  await page.waitForURL(/\/brands\/brd_/); await hydrated(); await shot('brand');
  await page.getByRole('link', { name: 'Delete brand…' }).click(); await page.waitForTimeout(300); await shot('brand-delete');
  await page.goto(`${base}/settings`); await hydrated(); await shot('settings');
  await page.goto(`${base}/settings/api-keys`); await hydrated(); await shot('api-keys-empty');
  await page.getByLabel('Key name').fill('CMS production');
  await page.getByRole('button', { name: 'Create key' }).click();
  await page.locator('#new-api-key').waitFor(); await shot('api-keys-created');
  await page.getByLabel('Key name').fill('Old integration');
  await page.getByRole('button', { name: 'Create key' }).click(); await page.waitForTimeout(500);
  await page.getByRole('button', { name: 'Revoke Old integration' }).click();
  await page.waitForURL(/revoked=/); await hydrated(); await page.waitForTimeout(300); await shot('api-keys-revoked');
  await page.goto(`${base}/settings/twitter`); await hydrated(); await shot('twitter-empty');
  if (fakeX) {
    const app = await registerApp();
    await page.getByLabel('OAuth 2.0 Client ID').fill(app.client_secret);
    await page.getByLabel('OAuth 2.0 Client Secret').fill(app.client_secret);
    await page.getByRole('button', { name: 'Save', exact: true }).click(); await page.waitForTimeout(600);
    await shot('twitter-mistake');
    await page.getByLabel('OAuth 2.0 Client ID').fill(app.client_id);
    await page.getByLabel('OAuth 2.0 Client Secret').fill(app.client_secret);
    await page.getByRole('button', { name: 'Test credentials' }).click(); await page.waitForTimeout(800);
    await shot('twitter-tested');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.waitForURL(/done=created/); await page.waitForTimeout(500); await shot('twitter-saved');
    await page.getByRole('link', { name: 'Add override' }).first().click(); await page.waitForTimeout(400);
    const other = await registerApp();
    await page.getByLabel('OAuth 2.0 Client ID').fill(other.client_id);
    await page.getByLabel('OAuth 2.0 Client Secret').fill(app.client_secret);
    await page.getByRole('button', { name: 'Test credentials' }).click(); await page.waitForTimeout(800);
    await shot('twitter-override-invalid');
    await page.getByLabel('OAuth 2.0 Client Secret').fill(other.client_secret);
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.waitForURL(/done=created/); await page.waitForTimeout(500); await shot('twitter-override-saved');

    // X accounts: connect on the default card, one with fewer scopes on a brand, a cancel.
    await page.route('https://pbs.twimg.com/**', (r) => r.fulfill({ status: 404 }));
    await page.goto(`${base}/accounts`); await hydrated(); await shot('accounts-empty');
    const cards = page.locator('section.platform-card');
    await cards.first().getByRole('button', { name: 'Connect X account' }).click();
    await page.waitForURL(/\/i\/oauth2\/authorize/); await shot('x-consent');
    await page.getByRole('button', { name: 'Authorize app' }).click();
    await page.waitForURL(/connect=/); await hydrated(); await shot('accounts-connected');
    await cards.nth(1).getByRole('button', { name: 'Connect X account' }).click();
    await page.waitForURL(/\/i\/oauth2\/authorize/);
    await page.getByLabel('dm.write', { exact: true }).uncheck();
    await page.getByRole('button', { name: 'Authorize app' }).click();
    await page.waitForURL(/connect=/); await hydrated(); await shot('accounts-missing-scopes');
    await cards.nth(2).getByRole('button', { name: 'Connect X account' }).click();
    await page.waitForURL(/\/i\/oauth2\/authorize/);
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.waitForURL(/connect=/); await hydrated(); await shot('accounts-cancelled');
    // The default app's developer account runs out of X credits: Check meets X's 402.
    const switches = (body) => fetch(`${fakeX}/_fake/switches`, {
      method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
    });
    await switches({ out_of_credits: [app.client_id] });
    await page.getByRole('button', { name: 'Check @XDevelopers' }).first().click();
    await page.waitForURL(/check=/); await hydrated(); await shot('accounts-credits-depleted');
    await page.goto(`${base}/settings/twitter`); await hydrated(); await shot('twitter-credits-depleted');
    await page.locator('#trouble-title').click(); await page.locator('#costs-title').click();
    await shot('twitter-troubleshooting');
    await switches({ out_of_credits: [] });
    const rotated = await (await fetch(`${fakeX}/_fake/apps/${app.client_id}/rotate`, { method: 'POST' })).json();
    await page.goto(`${base}/settings/twitter?edit=default#default-credentials`); await hydrated();
    await page.getByLabel('OAuth 2.0 Client ID').fill(app.client_id);
    await page.getByLabel('OAuth 2.0 Client Secret').fill(rotated.client_secret);
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.waitForURL(/done=secret_rotated/); await page.waitForTimeout(500); await shot('twitter-rotated');
    await page.goto(`${base}/accounts`); await hydrated();
    await page.getByRole('button', { name: 'Check @XDevelopers' }).first().click();
    await page.waitForURL(/check=/); await hydrated(); await page.waitForTimeout(300); await shot('accounts-needs-reconnection');
  }
  await page.goto(`${base}/brands/brd_doesnotexist`); await hydrated(); await shot('not-found');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL(/\/login/); await hydrated();
  await page.getByLabel('Email').fill('nobody@example.com');
  await page.getByLabel('Password').fill('wrong password');
  await page.getByRole('button', { name: 'Sign in' }).click(); await page.waitForTimeout(600); await shot('login-error');
  if (errors.length) console.log(`${label} console errors:\n  ${errors.join('\n  ')}`);
  await page.close();
}
await browser.close();
console.log(`screenshots in ${out}`);
