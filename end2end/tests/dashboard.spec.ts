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

// The bundle as a CDN would serve it: the page names it by a hash of its content, that name is
// kept for a year, and a browser that accepts brotli gets the bytes compressed at build time.
test('the bundle is served under a content-hashed name, precompressed and immutable', async ({ page, request }) => {
  await page.goto('/login');
  const css = await page.locator('link[rel="stylesheet"]').getAttribute('href');
  const wasm = await page.locator('link[rel="preload"][type="application/wasm"]').getAttribute('href');
  const js = await page.locator('link[rel="modulepreload"]').getAttribute('href');
  for (const href of [css, js, wasm]) {
    expect(href).toMatch(/^\/pkg\/perch\.[0-9a-f]{16}\.(css|js|wasm)$/);
    const res = await request.get(href!, { headers: { 'accept-encoding': 'br' } });
    expect(res.status()).toBe(200);
    expect(res.headers()['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(res.headers()['content-encoding']).toBe('br');
    expect(res.headers()['vary']).toBe('accept-encoding');
  }
  // Revalidation answers 304 by the representation's ETag; another build's name is not found.
  const first = await request.get(wasm!, { headers: { 'accept-encoding': 'gzip' } });
  expect(first.headers()['content-encoding']).toBe('gzip');
  const again = await request.get(wasm!, {
    headers: { 'accept-encoding': 'gzip', 'if-none-match': first.headers()['etag'] },
  });
  expect(again.status()).toBe(304);
  const stale = await request.get('/pkg/perch.0123456789abcdef.wasm');
  expect(stale.status()).toBe(404);
  // The plain names stay, revalidated on each use.
  const plain = await request.get('/pkg/perch.css');
  expect(plain.headers()['cache-control']).toBe('no-cache');
});
