import { execFileSync } from 'node:child_process';
import { expect, type Browser, type Page, type TestInfo } from '@playwright/test';
import { PASSWORD, jsEnabled, logIn, logOut, settled, signUp, test, uniqueEmail, visit, watchConsole } from './helpers';

/** Settings → your account (change password, sign out everywhere) and removing a member: each
 * ends sessions in other browsers at once; with JavaScript on and off. */

const NEW_PASSWORD = 'a brand new passphrase';

/** Another browser (its own cookies, its own address), signed in as `email`. */
async function otherBrowser(browser: Browser, testInfo: TestInfo, email: string, password = PASSWORD): Promise<Page> {
  const octet = () => 1 + Math.floor(Math.random() * 254);
  const context = await browser.newContext({
    javaScriptEnabled: jsEnabled(testInfo),
    extraHTTPHeaders: { 'x-forwarded-for': `203.0.${octet()}.${octet()}` },
  });
  const other = await context.newPage();
  await logIn(other, testInfo, email, password);
  await expect(other).toHaveURL(/\/brands$/);
  await settled(other, testInfo);
  return other;
}

/** Whether `page`'s session has ended: the dashboard sends it to the sign-in page. */
async function expectSignedOut(page: Page, testInfo: TestInfo) {
  await visit(page, testInfo, '/brands');
  await expect(page).toHaveURL(/\/login/);
}

/** `perch user create` on the server under test (the way members join an organization). */
function createMember(org: string, email: string) {
  const dir = process.env.PERCH_E2E_DIR!;
  execFileSync(`${dir}/perch`, ['user', 'create', '--email', email, '--org', org], {
    input: `${PASSWORD}\n`,
    env: { ...process.env, PERCH_DATA_DIR: `${dir}/data`, RUST_LOG: 'warn' },
  });
}

test('change password: this browser stays signed in, the other one is signed out', async ({ page, browser }, testInfo) => {
  const errors = watchConsole(page);
  const email = uniqueEmail(testInfo, 'changer');
  await signUp(page, testInfo, 'Password Agency', email);
  const other = await otherBrowser(browser, testInfo, email);

  await visit(page, testInfo, '/settings');
  await expect(page.getByRole('heading', { name: 'Your account' })).toBeVisible();
  // The current password is required, and checked.
  await page.getByLabel('Current password').fill('not my password');
  await page.getByLabel('New password').fill(NEW_PASSWORD);
  await page.getByRole('button', { name: 'Change password' }).click();
  await expect(page.locator('#field-current_password-error')).toContainText('That is not your current password.');
  await settled(page, testInfo);
  // The new one must differ (its other rules are the sign-up's, checked by server/tests/it/sessions.rs).
  await page.getByLabel('Current password').fill(PASSWORD);
  await page.getByLabel('New password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Change password' }).click();
  await expect(page.locator('#field-new_password-error')).toContainText('That is your current password.');
  await settled(page, testInfo);

  await page.getByLabel('Current password').fill(PASSWORD);
  await page.getByLabel('New password').fill(NEW_PASSWORD);
  await page.getByRole('button', { name: 'Change password' }).click();
  await expect(page).toHaveURL(/\/settings\?done=password(#account)?$/);
  await expect(page.getByText('Password changed. You are still signed in here; every other session of yours has ended.')).toBeVisible();
  await settled(page, testInfo);
  await expect(page.getByLabel('Current password')).toHaveValue('');
  await expect(page.getByLabel('New password')).toHaveValue('');

  // The other browser is signed out; this one is not.
  await expectSignedOut(other, testInfo);
  await visit(page, testInfo, '/brands');
  await expect(page.getByRole('heading', { level: 1, name: 'Brands' })).toBeVisible();
  // In the audit trail.
  await visit(page, testInfo, '/settings/twitter');
  await expect(page.getByText('Changed their password')).toBeVisible();

  // Only the new password signs in.
  await logOut(page, testInfo);
  await logIn(page, testInfo, email);
  await expect(page.getByRole('alert')).toContainText('That email and password do not match an account');
  await logIn(page, testInfo, email, NEW_PASSWORD);
  await expect(page).toHaveURL(/\/brands$/);
  await other.context().close();
  expect(errors).toEqual([]);
});

test('sign out everywhere ends this session and every other', async ({ page, browser }, testInfo) => {
  const errors = watchConsole(page);
  const email = uniqueEmail(testInfo, 'leaver');
  await signUp(page, testInfo, 'Everywhere Agency', email);
  const other = await otherBrowser(browser, testInfo, email);

  await visit(page, testInfo, '/settings');
  await page.getByRole('button', { name: 'Sign out everywhere' }).click();
  await expect(page).toHaveURL(/\/login$/);
  await settled(page, testInfo);
  await expectSignedOut(page, testInfo);
  await expectSignedOut(other, testInfo);

  // Signing in again works as ever.
  await logIn(page, testInfo, email);
  await expect(page).toHaveURL(/\/brands$/);
  await other.context().close();
  expect(errors).toEqual([]);
});

test('an owner removes a member after confirming; the member is signed out', async ({ page, browser }, testInfo) => {
  const errors = watchConsole(page);
  const org = `Removal Agency ${Math.random().toString(36).slice(2, 8)}`;
  const owner = uniqueEmail(testInfo, 'owner');
  const member = uniqueEmail(testInfo, 'member');
  await signUp(page, testInfo, org, owner);
  createMember(org, member);
  const theirs = await otherBrowser(browser, testInfo, member);

  await visit(page, testInfo, '/settings');
  const row = page.locator('tr', { hasText: member });
  await expect(row).toContainText('Member');
  // Nobody removes themselves here.
  await expect(page.getByRole('link', { name: `Remove ${owner}` })).toHaveCount(0);

  await page.getByRole('link', { name: `Remove ${member}` }).click();
  await expect(page).toHaveURL(/\/settings\?remove=usr_[a-z0-9]+(#members)?$/);
  await settled(page, testInfo);
  const confirm = page.getByRole('group', { name: 'Confirm removal' });
  await expect(confirm).toContainText(`Remove ${member} (Member) from the organization?`);
  // Cancel changes nothing.
  await confirm.getByRole('link', { name: 'Cancel' }).click();
  await expect(page.getByRole('group', { name: 'Confirm removal' })).toHaveCount(0);
  await settled(page, testInfo);

  await page.getByRole('link', { name: `Remove ${member}` }).click();
  await settled(page, testInfo);
  await page.getByRole('button', { name: `Yes, remove ${member}` }).click();
  await expect(page).toHaveURL(/\/settings\?done=removed(#members)?$/);
  await expect(page.getByText('Member removed. Their sessions have ended and they can no longer sign in.')).toBeVisible();
  await expect(page.locator('tr', { hasText: member })).toHaveCount(0);

  await expectSignedOut(theirs, testInfo);
  await logIn(theirs, testInfo, member);
  await expect(theirs.getByRole('alert')).toContainText('That email and password do not match an account');
  await theirs.context().close();
  expect(errors).toEqual([]);
});
