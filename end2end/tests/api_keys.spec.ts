import { expect } from '@playwright/test';
import { jsEnabled, settled, signUp, test, uniqueEmail, visit, watchConsole } from './helpers';

/** Settings → API keys: a key is shown once, works against the API at once, and revoking it
 * refuses it at once; with JavaScript on and off. */
test('create a key, use it, revoke it', async ({ page, request }, testInfo) => {
  const errors = watchConsole(page);
  await signUp(page, testInfo, 'Keyed Agency', uniqueEmail(testInfo));
  await visit(page, testInfo, '/settings/api-keys');
  await expect(page.getByRole('link', { name: 'API keys' })).toHaveAttribute('aria-current', 'page');
  await expect(page.getByText('No API keys yet.')).toBeVisible();

  // A blank name is refused next to the field.
  await page.getByLabel('Key name').fill('   ');
  await page.getByRole('button', { name: 'Create key' }).click();
  await expect(page.locator('#field-name-error')).toContainText('Give the key a name');
  await settled(page, testInfo);

  await page.getByLabel('Key name').fill('CMS production');
  await page.getByRole('button', { name: 'Create key' }).click();
  const shown = page.locator('#new-api-key');
  await expect(shown).toBeVisible();
  await expect(page.getByText('Copy it now')).toBeVisible();
  const key = (await shown.textContent())!.trim();
  expect(key).toMatch(/^perch_[A-Za-z0-9_-]{43}$/);
  const row = page.locator('tr', { hasText: 'CMS production' });
  await expect(row.getByRole('cell', { name: `${key.slice(0, 12)}…` })).toBeVisible();
  await expect(row).toContainText('Never');
  if (jsEnabled(testInfo)) {
    await expect(page.getByRole('button', { name: 'Copy', exact: true })).toBeVisible();
  }

  // The key works against the public API.
  const ok = await request.get('/v1/brands', { headers: { Authorization: `Bearer ${key}` } });
  expect(ok.status()).toBe(200);

  // Shown once: a reload lists the key by its prefix only.
  await visit(page, testInfo, '/settings/api-keys');
  await expect(page.locator('#new-api-key')).toHaveCount(0);
  expect(await page.content()).not.toContain(key);
  await expect(page.locator('tr', { hasText: 'CMS production' })).not.toContainText('Never');

  await page.getByRole('button', { name: 'Revoke CMS production' }).click();
  await expect(page.getByText('Revoked “CMS production”. Requests with it are refused from now on.')).toBeVisible();
  await expect(page.locator('tr', { hasText: 'CMS production' })).toContainText('Revoked');
  const refused = await request.get('/v1/brands', { headers: { Authorization: `Bearer ${key}` } });
  expect(refused.status()).toBe(401);
  expect((await refused.json()).error.code).toBe('invalid_api_key');
  expect(errors).toEqual([]);
});

test('a key cannot reach the key routes or the credentials', async ({ page, request }, testInfo) => {
  await signUp(page, testInfo, 'Walled Agency', uniqueEmail(testInfo));
  await visit(page, testInfo, '/settings/api-keys');
  await page.getByLabel('Key name').fill('Leaky');
  await page.getByRole('button', { name: 'Create key' }).click();
  const key = (await page.locator('#new-api-key').textContent())!.trim();
  for (const [method, path] of [
    ['GET', '/v1/integrations/twitter/credentials'],
    ['PUT', '/v1/integrations/twitter/credentials'],
    ['POST', '/api/keys/create'],
    ['POST', '/api/keys/list'],
  ]) {
    const r = await request.fetch(path, { method, headers: { Authorization: `Bearer ${key}` }, data: { name: 'x' } });
    expect(r.status(), `${method} ${path}`).toBe(403);
  }
});
