// Registers a passkey on the demo page (http://localhost:8080/, the gateway
// in front of the demo app) in headless Chromium with a CDP virtual
// authenticator; exits 1 unless the page shows a 200 and the stored record.
// Run by scripts/browser-check.sh.
import { chromium } from 'playwright-core';
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
const context = await browser.newContext();
const page = await context.newPage();
const cdp = await context.newCDPSession(page);
await cdp.send('WebAuthn.enable');
await cdp.send('WebAuthn.addVirtualAuthenticator', { options: {
  protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true,
  isUserVerified: true, automaticPresenceSimulation: true } });
await page.goto('http://localhost:8080/');
await page.fill('#username', 'browser-user');
await page.click('#register');
await page.waitForFunction(() => document.getElementById('result').textContent !== '-', null, { timeout: 15000 });
await page.waitForTimeout(500);
const result = await page.textContent('#result');
const stored = await page.textContent('#stored');
if (process.env.SCREENSHOT) await page.screenshot({ path: process.env.SCREENSHOT, fullPage: true });
await browser.close();
console.log(result);
if (!result.startsWith('200') || !stored.includes('"browser-user"')) {
  console.error('the browser registration did not go through');
  process.exit(1);
}
console.log('browser registration through the gateway: ok');
