import { expect } from '@playwright/test';
import { jsEnabled, signUp, test, uniqueEmail, visit, watchConsole } from './helpers';

// Every dashboard page, opened directly (a bookmark, a reload), must become interactive. The
// server once rendered some pages twice at random, and those loads failed to hydrate: a single
// load per page missed it, so each page is opened several times.
test('every dashboard page hydrates when opened directly', async ({ page }, testInfo) => {
  test.skip(!jsEnabled(testInfo), 'hydration only happens with JavaScript on');
  const errors = watchConsole(page);
  await signUp(page, testInfo, 'Reload Media', uniqueEmail(testInfo));
  await page.getByLabel('Brand name').fill('Roastery');
  await page.getByRole('button', { name: 'Add brand' }).click();
  await page.getByRole('link', { name: 'Roastery' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Roastery' })).toBeVisible();
  const brandPath = new URL(page.url()).pathname;

  for (let round = 0; round < 4; round++) {
    for (const path of ['/brands', brandPath, '/settings', '/settings/twitter']) {
      // `visit` waits for body[data-hydrated], which is set only once hydration has finished.
      await visit(page, testInfo, path);
    }
  }
  expect(errors).toEqual([]);
});
