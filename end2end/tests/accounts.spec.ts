import { expect, type APIRequestContext, type Locator, type Page, type TestInfo } from '@playwright/test';
import { baseURL, fakeXURL } from '../playwright.config';
import { settled, signUp, test, uniqueEmail, visit, watchConsole } from './helpers';

const CALLBACK = `${baseURL}/oauth/callback/twitter`;

type FakeApp = { client_id: string; client_secret: string };
type RecordedRequest = { path: string; basic_client_id: string | null; grant_type: string | null; token_type_hint: string | null };

async function registerApp(request: APIRequestContext, callbacks = [CALLBACK]): Promise<FakeApp> {
  const res = await request.post(`${fakeXURL}/_fake/apps`, { data: { callback_urls: callbacks } });
  expect(res.status()).toBe(201);
  return res.json();
}

/** Saves credentials through the dashboard's JSON API, in the page's own session. */
async function saveCredentials(page: Page, app: FakeApp, brandId?: string) {
  const res = await page.request.put(`${baseURL}/v1/integrations/twitter/credentials`, {
    headers: { origin: baseURL },
    data: { client_id: app.client_id, client_secret: app.client_secret, ...(brandId ? { brand_id: brandId } : {}) },
  });
  expect(res.ok(), await res.text()).toBeTruthy();
}

async function addBrand(page: Page, testInfo: TestInfo, name: string): Promise<string> {
  await visit(page, testInfo, '/brands');
  await page.getByLabel('Brand name').fill(name);
  await page.getByRole('button', { name: 'Add brand' }).click();
  const link = page.getByRole('link', { name });
  await expect(link).toBeVisible();
  return (await link.getAttribute('href'))!.split('/').pop()!;
}

/** Token requests the fake X received, newest last. */
async function tokenRequests(request: APIRequestContext): Promise<RecordedRequest[]> {
  const res = await request.get(`${fakeXURL}/_fake/requests`);
  return ((await res.json()) as RecordedRequest[]).filter((r) => r.path === '/2/oauth2/token');
}

function card(page: Page, title: string): Locator {
  return page.locator('section.platform-card').filter({ has: page.getByRole('heading', { level: 2, name: title, exact: true }) });
}

function account(page: Page, username: string): Locator {
  return page.locator(`li.account[data-username="${username}"]`);
}

/** On X's consent page: checks it is for `clientId` and presses a button. */
async function atX(page: Page, clientId: string, button: 'Authorize app' | 'Cancel', untick: string[] = []) {
  await expect(page).toHaveURL(new RegExp(`^${fakeXURL}/i/oauth2/authorize\\?`));
  expect(new URL(page.url()).searchParams.get('client_id')).toBe(clientId);
  expect(page.url()).not.toContain('code_verifier');
  await expect(page.getByRole('heading', { name: /wants to access your X account/ })).toBeVisible();
  for (const scope of untick) {
    await page.getByLabel(scope, { exact: true }).uncheck();
  }
  await page.getByRole('button', { name: button }).click();
}

/** Back on Perch's accounts page, hydrated when JavaScript is on. */
async function backOnCard(page: Page, testInfo: TestInfo) {
  await expect(page).toHaveURL(/\/accounts\?connect=/);
  expect(page.url()).not.toMatch(/[?&]code=/);
  await settled(page, testInfo);
}

/** A one-pixel GIF: what X's image host answers for avatars here (the sandbox has no internet). */
const PIXEL = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

test.describe('X accounts', () => {
  test.beforeEach(async ({ page }) => {
    await page.route('https://pbs.twimg.com/**', (route) => route.fulfill({ contentType: 'image/gif', body: PIXEL }));
  });
  test('connect through the brand’s own app, check, rotate, reconnect and disconnect', async ({ page, request }, testInfo) => {
    const errors = watchConsole(page);
    await signUp(page, testInfo, 'Connect Agency', uniqueEmail(testInfo));
    const brandId = await addBrand(page, testInfo, 'Acme Coffee');
    const defaultApp = await registerApp(request);
    const brandApp = await registerApp(request);
    await saveCredentials(page, defaultApp);
    await saveCredentials(page, brandApp, brandId);

    // The page, from the main navigation: one card per default and brand, the callback URL first.
    await visit(page, testInfo, '/brands');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'X accounts' }).click();
    await expect(page).toHaveURL(/\/accounts$/);
    await settled(page, testInfo);
    await expect(page.locator('#callback-url')).toHaveText(CALLBACK);
    const acme = card(page, 'Acme Coffee');
    await expect(acme).toContainText(`${brandApp.client_id.slice(0, 6)}… (this brand's own app)`);
    await expect(card(page, 'Organization default')).toContainText(`${defaultApp.client_id.slice(0, 6)}…`);
    await expect(acme.locator('.connect-form')).toContainText(CALLBACK);

    // Connect on the brand's card: X is asked with the brand's own app, which exchanges the code.
    await acme.getByRole('button', { name: 'Connect X account' }).click();
    await atX(page, brandApp.client_id, 'Authorize app');
    await backOnCard(page, testInfo);
    await expect(acme.getByRole('status')).toHaveText('@XDevelopers is connected.');
    const item = account(page, 'XDevelopers');
    await expect(item).toContainText('X Developers');
    await expect(item.locator('.avatar img')).toHaveAttribute('src', /^https:\/\/pbs\.twimg\.com\//);
    await expect(item.locator('.badge')).toHaveText('Connected');
    await expect(item).toContainText(`${brandApp.client_id.slice(0, 6)}…`);
    // The fake X is shared by tests running in parallel: look at this test's two apps only.
    const exchanges = (await tokenRequests(request)).filter((r) => r.grant_type === 'authorization_code');
    expect(exchanges.filter((r) => r.basic_client_id === brandApp.client_id)).toHaveLength(1);
    expect(exchanges.filter((r) => r.basic_client_id === defaultApp.client_id)).toHaveLength(0);

    // Cancel on the default card: nothing connected, and the card says so.
    await card(page, 'Organization default').getByRole('button', { name: 'Connect X account' }).click();
    await atX(page, defaultApp.client_id, 'Cancel');
    await backOnCard(page, testInfo);
    await expect(card(page, 'Organization default').getByRole('alert')).toContainText('cancelled on X');
    await expect(card(page, 'Organization default')).toContainText('No X account is connected here yet.');

    // Check asks X through the account's token.
    await item.getByRole('button', { name: 'Check @XDevelopers' }).click();
    await expect(item.getByRole('status')).toContainText('@XDevelopers is working');
    await settled(page, testInfo);

    // Rotation: a new secret at X, pasted into Perch. The settings page lists the account.
    const rotated = await request.post(`${fakeXURL}/_fake/apps/${brandApp.client_id}/rotate`);
    const newSecret = (await rotated.json()).client_secret as string;
    await saveCredentials(page, { client_id: brandApp.client_id, client_secret: newSecret }, brandId);
    await visit(page, testInfo, '/settings/twitter');
    await expect(page.locator('.to-reconnect')).toContainText('1 X account will need reconnecting');
    await expect(page.locator('.to-reconnect')).toContainText('@XDevelopers · Acme Coffee');
    await page.locator('.to-reconnect').getByRole('link', { name: 'Reconnect them on the X accounts page' }).click();
    await settled(page, testInfo);
    await expect(item.locator('.badge')).toHaveText('Reconnect soon');
    // Its next API call marks it.
    await item.getByRole('button', { name: 'Check @XDevelopers' }).click();
    await expect(item.locator('.badge')).toHaveText('Needs reconnection');
    await expect(item).toContainText('Client Secret of the X app it connected through was replaced');
    await settled(page, testInfo);

    // Reconnect: the same account, on the current credentials, mark cleared.
    await item.getByRole('button', { name: 'Reconnect @XDevelopers' }).click();
    await atX(page, brandApp.client_id, 'Authorize app');
    await backOnCard(page, testInfo);
    await expect(acme.getByRole('status').first()).toContainText('@XDevelopers is reconnected');
    await expect(page.locator('li.account')).toHaveCount(1);
    await expect(item.locator('.badge')).toHaveText('Connected');

    // Disconnect revokes at X and removes the account.
    await item.getByRole('button', { name: 'Disconnect' }).click();
    await expect(page.locator('.banner-success', { hasText: 'X revoked its tokens' })).toBeVisible();
    await expect(page.locator('li.account')).toHaveCount(0);
    const revokes = ((await (await request.get(`${fakeXURL}/_fake/requests`)).json()) as RecordedRequest[]).filter(
      (r) => r.path === '/2/oauth2/revoke' && r.basic_client_id === brandApp.client_id,
    );
    expect(revokes.map((r) => r.token_type_hint)).toEqual(['refresh_token', 'access_token']);
    expect(errors).toEqual([]);
  });

  test('fewer scopes are flagged, and a wrong callback URL is caught at X', async ({ page, request }, testInfo) => {
    const errors = watchConsole(page);
    await signUp(page, testInfo, 'Scopes Agency', uniqueEmail(testInfo));
    const app = await registerApp(request);
    await saveCredentials(page, app);
    await visit(page, testInfo, '/accounts');
    const defaults = card(page, 'Organization default');

    await defaults.getByRole('button', { name: 'Connect X account' }).click();
    const callback = page.waitForRequest((r) => r.url().startsWith(CALLBACK));
    await atX(page, app.client_id, 'Authorize app', ['dm.write', 'like.write']);
    const callbackUrl = (await callback).url();
    await backOnCard(page, testInfo);
    await expect(defaults.locator('.banner-warning')).toContainText('fewer permissions than Perch asked for');
    const item = account(page, 'XDevelopers');
    await expect(item.locator('.badge')).toHaveText('Missing scopes');
    await expect(item.locator('.account-note')).toContainText('dm.write');
    await expect(item.locator('.account-note')).toContainText('like.write');

    // The same callback again (a replay, or the back button): refused before X is asked.
    await page.goto(callbackUrl);
    await settled(page, testInfo);
    await expect(page.getByRole('alert')).toContainText('already used');
    await expect(page.locator('li.account')).toHaveCount(1);

    // The app's callback URL registered with a trailing slash: X stops on its own page, which is
    // why the card shows the exact URL before anyone leaves.
    const res = await request.put(`${fakeXURL}/_fake/apps/${app.client_id}/callback-urls`, { data: { callback_urls: [`${CALLBACK}/`] } });
    expect(res.ok()).toBeTruthy();
    await defaults.getByRole('button', { name: 'Connect X account' }).click();
    await expect(page.getByRole('heading', { name: 'Something went wrong' })).toBeVisible();
    await page.goBack();
    await settled(page, testInfo);
    await expect(defaults.locator('.connect-form')).toContainText(`X must have this callback URL registered: ${CALLBACK}`);
    expect(errors).toEqual([]);
  });

  // An agency's accounts come 50 to a page. 51 accounts are connected through the dashboard's own
  // Connect flow, hop by hop in the page's session (the browser is not needed for each), then the
  // user pages through them, with links that work with and without JavaScript.
  test('51 accounts come on two pages, with links between them', async ({ page, request }, testInfo) => {
    test.setTimeout(120_000);
    const errors = watchConsole(page);
    await signUp(page, testInfo, 'Paged Agency', uniqueEmail(testInfo));
    const app = await registerApp(request);
    await saveCredentials(page, app);
    const tag = `${Date.now()}`.slice(-8);
    for (let i = 0; i < 51; i++) {
      const user = { id: `7${tag}${String(i).padStart(3, '0')}`, name: `Paged ${i}`, username: `paged${tag}_${i}` };
      expect((await request.post(`${fakeXURL}/_fake/users`, { data: user })).status()).toBe(201);
      const connect = await page.request.post(`${baseURL}/oauth/connect/twitter`, {
        form: { brand_id: 'default' },
        headers: { origin: baseURL },
        maxRedirects: 0,
      });
      expect(connect.status(), await connect.text()).toBe(303);
      const authorize = new URL(connect.headers()['location']);
      const form = new URLSearchParams(authorize.searchParams);
      form.append('decision', 'authorize');
      form.append('user_id', user.id);
      for (const scope of authorize.searchParams.get('scope')!.split(' ')) form.append('granted', scope);
      const decided = await request.post(`${fakeXURL}/i/oauth2/authorize/decision`, {
        data: form.toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        maxRedirects: 0,
      });
      expect(decided.status()).toBe(302);
      const back = await page.request.get(decided.headers()['location'], { maxRedirects: 0 });
      expect(back.headers()['location']).toMatch(/connect=connected/);
    }

    await visit(page, testInfo, '/accounts');
    const pager = page.getByRole('navigation', { name: 'Pages of X accounts' }).first();
    await expect(pager).toContainText('Page 1 of 2 · 51 accounts');
    await expect(page.locator('li.account')).toHaveCount(50);
    await expect(pager.getByRole('link', { name: '← Previous' })).toHaveCount(0);
    await expect(page.locator('.card-range')).toHaveText('Accounts 1–50 of 51 on this card');
    await pager.getByRole('link', { name: 'Next →' }).click();
    await expect(page).toHaveURL(/\/accounts\?page=2$/);
    await settled(page, testInfo);
    await expect(page.getByRole('navigation', { name: 'Pages of X accounts' }).first()).toContainText('Page 2 of 2 · 51 accounts');
    await expect(page.locator('li.account')).toHaveCount(1);
    await expect(page.locator('.card-range')).toHaveText('Accounts 51–51 of 51 on this card');
    const last = await page.locator('li.account').getAttribute('data-username');
    expect(last).toMatch(new RegExp(`^paged${tag}_`));
    await page.getByRole('navigation', { name: 'Pages of X accounts' }).first().getByRole('link', { name: '← Previous' }).click();
    await expect(page).toHaveURL(/\/accounts\?page=1$/);
    await expect(page.locator('li.account')).toHaveCount(50);
    // Every account is on exactly one of the two pages.
    await expect(page.locator(`li.account[data-username="${last}"]`)).toHaveCount(0);
    expect(errors).toEqual([]);
  });

  test('a card without any X app links to the settings page instead of going to X', async ({ page }, testInfo) => {
    await signUp(page, testInfo, 'No App Agency', uniqueEmail(testInfo));
    await visit(page, testInfo, '/accounts');
    const defaults = card(page, 'Organization default');
    await expect(defaults).toContainText('No X app is set up for the organization yet');
    await expect(defaults.getByRole('button', { name: 'Connect X account' })).toHaveCount(0);
    await defaults.getByRole('link', { name: /Settings → Twitter integration/ }).click();
    await expect(page).toHaveURL(/\/settings\/twitter$/);
  });
});
