// Watches one chat of the Agents Playground web UI in headless Chromium (Debian's chromium + playwright-core):
// open the personal chat, print READY, wait until an Adaptive Card there contains the given text, scroll it into
// view, save a screenshot, print DONE <json with the card's text>. Any failure prints FAILED <reason>, saves a
// screenshot next to the requested one, and exits 1. Nothing is clicked: the test drives the chat over HTTP.
//
// usage: node watch_in_browser.js <playground url> <screenshot path> <text the card must contain> [timeout ms]
"use strict";
const path = require("path");
const { chromium } = require("playwright-core");

const [url, screenshot, needle, timeoutArg] = process.argv.slice(2);
const TIMEOUT = Number(timeoutArg || 180000);

async function main() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-default-apps",
      "--disable-sync",
      "--disable-domain-reliability",
      "--disable-client-side-phishing-detection",
      "--metrics-recording-only",
      "--no-first-run",
      "--disable-features=Translate,OptimizationHints,MediaRouter,InterestFeedContentSuggestions",
    ],
  });
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  try {
    await page.goto(url, { waitUntil: "domcontentloaded", timeout: 45000 });
    await page.getByText("Personal Chat").first().click({ timeout: 45000 });
    console.log("READY");
    const card = page.locator(".ac-adaptiveCard", { hasText: needle }).last();
    await card.waitFor({ state: "visible", timeout: TIMEOUT });
    await card.scrollIntoViewIfNeeded();
    await page.screenshot({ path: screenshot, fullPage: false });
    const text = await card.innerText();
    console.log("DONE " + JSON.stringify({ text }));
  } catch (error) {
    const failed = path.join(path.dirname(screenshot), "failed-" + path.basename(screenshot));
    await page.screenshot({ path: failed }).catch(() => {});
    console.log("FAILED " + String(error && error.message ? error.message : error).split("\n")[0]);
    process.exitCode = 1;
  } finally {
    await browser.close();
  }
}

main();
