import { expect, type APIRequestContext, type Locator, type Page, type TestInfo } from '@playwright/test';
import { baseURL, fakeXURL } from '../playwright.config';
import { jsEnabled, settled, signUp, test, uniqueEmail, visit, watchConsole } from './helpers';

const CALLBACK = `${baseURL}/oauth/callback/twitter`;

type FakeApp = { client_id: string; client_secret: string };

/** Registers an app at the fake X with Perch's callback URL. */
async function registerApp(request: APIRequestContext): Promise<FakeApp> {
  const res = await request.post(`${fakeXURL}/_fake/apps`, { data: { callback_urls: [CALLBACK] } });
  expect(res.status()).toBe(201);
  return res.json();
}

async function rotateSecret(request: APIRequestContext, clientId: string): Promise<string> {
  const res = await request.post(`${fakeXURL}/_fake/apps/${clientId}/rotate`);
  expect(res.ok()).toBeTruthy();
  return (await res.json()).client_secret;
}

async function fill(page: Page, clientId: string, secret: string) {
  await page.getByLabel('OAuth 2.0 Client ID').fill(clientId);
  await page.getByLabel('OAuth 2.0 Client Secret').fill(secret);
}

/** Opens a form by a link (Replace…, Add override): a page load, with or without JavaScript. */
async function openForm(page: Page, testInfo: TestInfo, link: Locator, url: RegExp) {
  await link.click();
  await page.waitForURL(url);
  await settled(page, testInfo);
}

/**
 * Tests the pair, then saves it. Without JavaScript the test is a page load, after which the
 * Client ID is still there but the secret is not (it is never sent back): paste it again.
 */
async function testThenSave(page: Page, testInfo: TestInfo, secret: string, expected: RegExp) {
  await page.getByRole('button', { name: 'Test credentials' }).click();
  await expect(page.locator('.test-result')).toContainText(expected);
  await settled(page, testInfo);
  if (!jsEnabled(testInfo)) {
    await expect(page.getByLabel('OAuth 2.0 Client Secret')).toHaveValue('');
    await expect(page.locator('.test-result')).toContainText('paste the Client Secret again');
    await page.getByLabel('OAuth 2.0 Client Secret').fill(secret);
  }
  await page.getByRole('button', { name: 'Save', exact: true }).click();
}

test.describe('Settings → Twitter integration', () => {
  test.use({ permissions: ['clipboard-read', 'clipboard-write'] });

  test('set up the default app and a brand override from the page alone', async ({ page, request }, testInfo) => {
    const errors = watchConsole(page);
    await signUp(page, testInfo, 'Byok Agency', uniqueEmail(testInfo));
    await page.getByLabel('Brand name').fill('Acme Coffee');
    await page.getByRole('button', { name: 'Add brand' }).click();
    await expect(page.getByRole('link', { name: 'Acme Coffee' })).toBeVisible();

    // The page is reached from Settings.
    await visit(page, testInfo, '/settings');
    await page.getByRole('link', { name: 'Twitter integration' }).click();
    await expect(page).toHaveURL(/\/settings\/twitter$/);
    await settled(page, testInfo);

    // The guide: the exact callback URL, the app settings and every scope.
    await expect(page.locator('#callback-url')).toHaveText(CALLBACK);
    await expect(page.getByText('Read and write and Direct message')).toBeVisible();
    await expect(page.getByText('Web App, Automated App or Bot')).toBeVisible();
    for (const scope of ['tweet.read', 'tweet.write', 'tweet.moderate.write', 'users.read', 'dm.read', 'dm.write', 'like.write', 'offline.access']) {
      await expect(page.locator('.scopes code', { hasText: new RegExp(`^${scope.replace('.', '\\.')}$`) })).toBeVisible();
    }
    await expect(page.getByText('fail with 403')).toBeVisible();
    const copy = page.getByRole('button', { name: 'Copy' });
    if (jsEnabled(testInfo)) {
      await copy.click();
      await expect(page.getByRole('button', { name: 'Copied' })).toBeVisible();
      expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(CALLBACK);
    } else {
      // Without the script there is nothing to click: the URL is shown to be copied by hand.
      await expect(copy).toBeHidden();
    }

    const app = await registerApp(request);

    // A real mistake: the secret pasted into the Client ID field. Nothing is stored.
    await fill(page, app.client_secret, app.client_secret);
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await expect(page.locator('#field-client_id-error')).toContainText('looks like a secret');
    await expect(page.getByText('Set · never shown again')).toHaveCount(0);
    await settled(page, testInfo);

    // Spaces and a line break from copying are trimmed; the pair tests valid, then saves.
    await fill(page, `  ${app.client_id}\n`, ` ${app.client_secret} `);
    await testThenSave(page, testInfo, app.client_secret, /Valid/);
    await expect(page.getByRole('status').filter({ hasText: 'Credentials saved' })).toBeVisible();
    await settled(page, testInfo);
    const defaults = page.locator('#default-credentials');
    await expect(defaults.getByText(`${app.client_id.slice(0, 6)}…`)).toBeVisible();
    await expect(defaults.getByText('Set · never shown again')).toBeVisible();
    await expect(defaults.locator('.badge-test-valid')).toBeVisible();
    // The secret is in no form and nowhere in the page; the Client ID only as its preview.
    expect(await page.content()).not.toContain(app.client_secret);
    expect(await page.content()).not.toContain(app.client_id);

    // The brand uses the default until it gets an override.
    const row = page.locator('tr', { has: page.getByRole('link', { name: 'Acme Coffee' }) });
    await expect(row.getByText('Organization default')).toBeVisible();
    await openForm(page, testInfo, row.getByRole('link', { name: 'Add override' }), /edit=brd_/);
    const brandApp = await registerApp(request);

    // A wrong secret: X says invalid_client, and the page says what to do.
    await fill(page, brandApp.client_id, app.client_secret);
    await page.getByRole('button', { name: 'Test credentials' }).click();
    await expect(page.locator('.test-result')).toContainText('invalid_client');
    await expect(page.locator('.test-result')).toContainText('rotated');
    await settled(page, testInfo);

    await fill(page, brandApp.client_id, brandApp.client_secret);
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await expect(page.getByRole('status').filter({ hasText: 'Credentials saved' })).toBeVisible();
    await settled(page, testInfo);
    await expect(row.getByText(`Own app ${brandApp.client_id.slice(0, 6)}…`)).toBeVisible();

    // Rotation: a new secret for the same Client ID replaces the old one.
    const rotated = await rotateSecret(request, app.client_id);
    await openForm(page, testInfo, defaults.getByRole('link', { name: 'Replace…' }), /edit=default/);
    await fill(page, app.client_id, rotated);
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await expect(page.getByRole('status').filter({ hasText: 'Client Secret replaced' })).toBeVisible();
    await expect(defaults.getByText('Not tested')).toBeVisible();
    await settled(page, testInfo);

    // Removing the override falls back to the default.
    await row.getByRole('link', { name: 'Remove' }).click();
    await expect(page.getByText('Remove the override of “Acme Coffee”?')).toBeVisible();
    await settled(page, testInfo);
    await page.getByRole('button', { name: 'Yes, remove' }).click();
    await expect(page.getByRole('status').filter({ hasText: 'Override removed' })).toBeVisible();
    await expect(row.getByText('Organization default')).toBeVisible();

    // The audit trail says who did what, without a secret.
    const audit = page.locator('table.audit');
    for (const action of ['Saved credentials', 'Tested credentials', 'Replaced the Client Secret (rotation)', 'Removed credentials']) {
      await expect(audit.getByText(action).first()).toBeVisible();
    }
    for (const secret of [app.client_secret, rotated, brandApp.client_secret]) {
      expect(await page.content()).not.toContain(secret);
    }
    expect(errors).toEqual([]);
  });

  test('wrong key types are caught before anything is stored', async ({ page }, testInfo) => {
    await signUp(page, testInfo, 'Mistake Media', uniqueEmail(testInfo));
    await visit(page, testInfo, '/settings/twitter');
    const clientIdError = page.locator('#field-client_id-error');
    const secretError = page.locator('#field-client_secret-error');
    // An OAuth 1.0a API Key in place of the Client ID.
    await fill(page, 'xvz1evFS4wEEPTGEFPHBog0aB', 'kJ9_x2Lm-QpR7sT4vW8yZ1aB3cD5eF6gH0iJ2kL4mN6oP8qR0s');
    await page.getByRole('button', { name: 'Test credentials' }).click();
    await expect(clientIdError).toContainText('API Key');
    await settled(page, testInfo);

    // The app's Bearer Token in place of the secret.
    await fill(page, 'M1M5R3BMVy13QmpScXkzTUt5OE46MTpjaQ', 'AAAAAAAAAAAAAAAAAAAAAMLheAAAAAAA0%2BuSeid%2BULvsea4JtiGRiSDSJSI%3DEUifiRBkKG5E2XzMDjRfl76ZC9Ub0wnz4XsNiRVBChTYbJcE3F');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await expect(secretError).toContainText('Bearer Token');
    // The well-formed Client ID stays in the form; the secret does not come back.
    await expect(page.getByLabel('OAuth 2.0 Client ID')).toHaveValue('M1M5R3BMVy13QmpScXkzTUt5OE46MTpjaQ');
    if (!jsEnabled(testInfo)) {
      await expect(page.getByLabel('OAuth 2.0 Client Secret')).toHaveValue('');
    }
    await expect(page.getByText('Set · never shown again')).toHaveCount(0);
  });
});
