// Watches one chat of the Agents Playground web UI in headless Chromium (Debian's chromium + playwright-core):
// open the personal chat, print READY, wait until an Adaptive Card there contains the given text, scroll it into
// view, save a screenshot, print DONE <json with the card's text>. Any failure prints FAILED <reason>, saves a
// screenshot next to the requested one, and exits 1. Nothing is clicked: the test drives the chat over HTTP.
//
// usage: node watch_in_browser.js <playground url> <screenshot path> <text the card must contain> [timeout ms]
"use strict";
const { cardShowing, openPersonalChat, reportCard, reportFailure } = require("./playground_page");

const [url, screenshot, needle, timeoutArg] = process.argv.slice(2);
const TIMEOUT = Number(timeoutArg || 180000);

async function main() {
  let browser, page;
  try {
    ({ browser, page } = await openPersonalChat(url, { width: 1280, height: 1000 }, 45000));
    console.log("READY");
    await reportCard(page, await cardShowing(page, needle, TIMEOUT), screenshot);
  } catch (error) {
    await reportFailure(page, screenshot, error);
  } finally {
    if (browser) await browser.close();
  }
}

main();
