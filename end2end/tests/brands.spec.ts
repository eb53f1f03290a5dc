import { expect } from '@playwright/test';
import { logOut, settled, signUp, test, uniqueEmail, visit, watchConsole } from './helpers';

test('create, rename and delete a brand', async ({ page }, testInfo) => {
  const errors = watchConsole(page);
  await signUp(page, testInfo, 'Brandy Agency', uniqueEmail(testInfo));

  await expect(page.getByText('No brands yet.')).toBeVisible();
  await page.getByLabel('Brand name').fill('Blue Bottle');
  await page.getByRole('button', { name: 'Add brand' }).click();
  await expect(page.getByRole('link', { name: 'Blue Bottle' })).toBeVisible();

  // A duplicate, in another case, is refused next to the field.
  await settled(page, testInfo);
  await page.getByLabel('Brand name').fill('BLUE bottle');
  await page.getByRole('button', { name: 'Add brand' }).click();
  await expect(page.locator('#field-name-error')).toContainText('already has a brand with this name');

  await page.getByRole('link', { name: 'Blue Bottle' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Blue Bottle' })).toBeVisible();
  await settled(page, testInfo);
  await page.getByLabel('Brand name').fill('Green Bottle');
  await page.getByRole('button', { name: 'Save name' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Green Bottle' })).toBeVisible();

  await settled(page, testInfo);
  await page.getByRole('link', { name: 'Delete brand…' }).click();
  await expect(page.getByText('Delete “Green Bottle”? Its X accounts are disconnected, their tokens revoked at X')).toBeVisible();
  await page.getByRole('button', { name: 'Yes, delete this brand' }).click();
  await expect(page).toHaveURL(/\/brands$/);
  await expect(page.getByText('No brands yet.')).toBeVisible();
  expect(errors).toEqual([]);
});

test("another organization's brand URL answers 404", async ({ page }, testInfo) => {
  await signUp(page, testInfo, 'Alice Agency', uniqueEmail(testInfo, 'alice'));
  await page.getByLabel('Brand name').fill('Private Client');
  await page.getByRole('button', { name: 'Add brand' }).click();
  await page.getByRole('link', { name: 'Private Client' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Private Client' })).toBeVisible();
  const brandUrl = new URL(page.url()).pathname;
  await logOut(page, testInfo);

  await signUp(page, testInfo, 'Mallory Media', uniqueEmail(testInfo, 'mallory'));
  const response = await page.goto(brandUrl);
  expect(response?.status()).toBe(404);
  await expect(page.getByRole('heading', { name: 'No such brand' })).toBeVisible();
  await expect(page.getByText('Private Client')).toHaveCount(0);
  await visit(page, testInfo, '/brands');
  await expect(page.getByText('No brands yet.')).toBeVisible();
});
