import { expect, test } from '@playwright/test';
import { logIn, logOut, PASSWORD, signUp, uniqueEmail, visit, watchConsole } from './helpers';

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

test('sign-up explains each mistake next to its field', async ({ page }, testInfo) => {
  const email = uniqueEmail(testInfo);
  await signUp(page, testInfo, 'First Org', email);
  await logOut(page, testInfo);

  await visit(page, testInfo, '/signup');
  await page.getByLabel('Organization name').fill('Second Org');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create organization' }).click();
  const emailField = page.getByLabel('Email');
  await expect(page.locator('#field-email-error')).toContainText('already exists');
  await expect(emailField).toHaveAttribute('aria-invalid', 'true');
});
