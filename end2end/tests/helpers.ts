import { test as base, expect, type Page, type TestInfo } from '@playwright/test';

/**
 * Every test is a client of its own: the server trusts 127.0.0.1 as a reverse proxy
 * (PERCH_TRUSTED_PROXIES in playwright.config.ts) and each test's page sends its own
 * `X-Forwarded-For`, so the per-address limits on sign-in and sign-up count tests apart, as they
 * count people apart behind a real proxy.
 */
export const test = base.extend({
  page: async ({ page }, use) => {
    const octet = () => 1 + Math.floor(Math.random() * 254);
    await page.setExtraHTTPHeaders({ 'x-forwarded-for': `198.51.${octet()}.${octet()}` });
    await use(page);
  },
});

export const PASSWORD = 'correct horse battery staple';

/** A unique email per test and project, so tests can share one server. */
export function uniqueEmail(testInfo: TestInfo, who = 'user'): string {
  const rand = Math.random().toString(36).slice(2, 8);
  return `${who}-${testInfo.project.name}-${rand}@example.com`;
}

export function jsEnabled(testInfo: TestInfo): boolean {
  return testInfo.project.name === 'js';
}

/**
 * Collects console errors: a CSP violation or a hydration panic shows up there. Chromium also
 * logs every 4xx answer to a fetch ("Failed to load resource"); those are Perch answering a
 * refused action as designed, and the tests check the message shown instead.
 */
export function watchConsole(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (msg) => {
    const text = msg.text();
    if (msg.type() === 'error' && !/^Failed to load resource: the server responded with a status of 4\d\d/.test(text)) {
      errors.push(text);
    }
  });
  page.on('pageerror', (err) => errors.push(err.message));
  return errors;
}

/** Navigates and, with JavaScript on, waits until the page has hydrated. */
export async function visit(page: Page, testInfo: TestInfo, path: string) {
  await page.goto(path);
  await settled(page, testInfo);
}

export async function settled(page: Page, testInfo: TestInfo) {
  if (jsEnabled(testInfo)) {
    await expect(page.locator('body[data-hydrated]')).toHaveCount(1);
  }
}

export async function signUp(page: Page, testInfo: TestInfo, org: string, email: string) {
  await visit(page, testInfo, '/signup');
  await page.getByLabel('Organization name').fill(org);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create organization' }).click();
  // Sign-up never signs in (it answers a taken email like a new one): sign in next.
  await expect(page).toHaveURL(/\/login\?signed_up=1$/);
  await expect(page.getByRole('status')).toContainText('Sign in with the email and password you just chose');
  await logIn(page, testInfo, email);
  await expect(page).toHaveURL(/\/brands$/);
  await expect(page.getByRole('heading', { level: 1, name: 'Brands' })).toBeVisible();
  await settled(page, testInfo);
}

/** Signs in from the sign-in page, opening it first unless the browser is already there. */
export async function logIn(page: Page, testInfo: TestInfo, email: string, password = PASSWORD) {
  if (new URL(page.url()).pathname !== '/login') {
    await visit(page, testInfo, '/login');
  }
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

export async function logOut(page: Page, testInfo: TestInfo) {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/login/);
  await settled(page, testInfo);
}
