// Drives the Agents Playground web UI in headless Chromium (Debian's chromium + playwright-core):
// open the personal chat, print READY, wait for an approval card, type a comment, click Approve, wait until
// the card shows the decision, save screenshots (before and after the click), print DONE <json>. Any failure prints FAILED <reason>,
// saves a screenshot next to the requested one, and exits 1.
//
// usage: node approve_in_browser.js <playground url> <screenshot path> <text the card must contain>
"use strict";
const { cardShowing, openPersonalChat, reportCard, reportFailure } = require("./playground_page");

const [url, screenshot, needle] = process.argv.slice(2);
const TIMEOUT = 45000;

async function main() {
  let browser, page;
  try {
    ({ browser, page } = await openPersonalChat(url, { width: 1280, height: 900 }, TIMEOUT));
    console.log("READY");
    // The approval card for this request, rendered by the Adaptive Cards renderer the UI bundles.
    const card = await cardShowing(page, needle, TIMEOUT);
    const comment = card.locator("textarea, input[type=text]").last();
    if (await comment.count()) {
      await comment.click();
      await page.keyboard.type("Approved from the browser test");
    }
    await card.scrollIntoViewIfNeeded();
    await page.screenshot({ path: screenshot.replace(/\.png$/, "-before.png") });
    await card.getByRole("button", { name: "Approve", exact: true }).click({ timeout: TIMEOUT });
    await reportCard(page, await cardShowing(page, "Approved by Alex Wilber", TIMEOUT), screenshot);
  } catch (error) {
    await reportFailure(page, screenshot, error);
  } finally {
    if (browser) await browser.close();
  }
}

main();
