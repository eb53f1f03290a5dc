import { expect } from '@playwright/test';
import { logIn, logOut, PASSWORD, signUp, test, uniqueEmail, visit, watchConsole } from './helpers';

test('sign up, log out and log in again', async ({ page }, testInfo) => {
  const errors = watchConsole(page);
  const email = uniqueEmail(testInfo, 'owner');
  await signUp(page, testInfo, 'Northwind Agency', email);
  await expect(page.locator('.whoami')).toContainText('Northwind Agency');

  await logOut(page, testInfo);
  // Signed out, the dashboard sends you to sign in and back afterwards.
  await visit(page, testInfo, '/settings');
  await expect(page).toHaveURL(/\/login\?next=%2Fsettings$/);

  await logIn(page, testInfo, email);
  await expect(page).toHaveURL(/\/settings$/);
  await expect(page.getByRole('heading', { level: 1, name: 'Settings' })).toBeVisible();
  await expect(page.getByRole('cell', { name: email })).toBeVisible();
  expect(errors).toEqual([]);
});

test('a wrong password is refused with a clear message', async ({ page }, testInfo) => {
  const email = uniqueEmail(testInfo);
  await signUp(page, testInfo, 'Wrong Password Inc', email);
  await logOut(page, testInfo);

  await logIn(page, testInfo, email, 'not the password');
  await expect(page.getByRole('alert')).toContainText('That email and password do not match an account');
  await expect(page).toHaveURL(/\/login/);
  // Unknown email: the very same answer.
  await logIn(page, testInfo, uniqueEmail(testInfo, 'nobody'), PASSWORD);
  await expect(page.getByRole('alert')).toContainText('That email and password do not match an account');
});

test('sign-up answers a taken email exactly like a new one, and explains each mistake next to its field', async ({ page }, testInfo) => {
  const email = uniqueEmail(testInfo);
  await signUp(page, testInfo, 'First Org', email);
  await logOut(page, testInfo);

  // A taken email: the same answer as a new one (nothing says the email has an account).
  await visit(page, testInfo, '/signup');
  await page.getByLabel('Organization name').fill('Second Org');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill('a different passphrase');
  await page.getByRole('button', { name: 'Create organization' }).click();
  await expect(page).toHaveURL(/\/login\?signed_up=1$/);
  await logIn(page, testInfo, email);
  await expect(page.locator('.whoami')).toContainText('First Org');
  await logOut(page, testInfo);

  // A mistake is explained next to its field.
  await visit(page, testInfo, '/signup');
  await page.getByLabel('Organization name').fill('   ');
  await page.getByLabel('Email').fill(uniqueEmail(testInfo, 'third'));
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create organization' }).click();
  await expect(page.locator('#field-org_name-error')).not.toBeEmpty();
  await expect(page.getByLabel('Organization name')).toHaveAttribute('aria-invalid', 'true');
});
