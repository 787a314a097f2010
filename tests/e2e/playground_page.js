// What the browser-driven e2e scripts share: headless Chromium (Debian's chromium + playwright-core) on the Agents
// Playground web UI with its personal chat open, and one way to report a failure (FAILED <reason>, a screenshot
// named failed-<name> next to the requested one, exit code 1).
"use strict";
const path = require("path");
const { chromium } = require("playwright-core");

async function openPersonalChat(url, viewport, timeout) {
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
  const page = await browser.newPage({ viewport });
  try {
    await page.goto(url, { waitUntil: "domcontentloaded", timeout });
    await page.getByText("Personal Chat").first().click({ timeout });
  } catch (error) {
    await browser.close();
    throw error;
  }
  return { browser, page };
}

async function reportFailure(page, screenshot, error) {
  const failed = path.join(path.dirname(screenshot), "failed-" + path.basename(screenshot));
  if (page) await page.screenshot({ path: failed }).catch(() => {});
  console.log("FAILED " + String(error && error.message ? error.message : error).split("\n")[0]);
  process.exitCode = 1;
}

// The last Adaptive Card in the chat that contains `text`, once it is visible.
async function cardShowing(page, text, timeout) {
  const card = page.locator(".ac-adaptiveCard", { hasText: text }).last();
  await card.waitFor({ state: "visible", timeout });
  return card;
}

// Scroll `card` into view, save the screenshot, print DONE <json with the card's text>.
async function reportCard(page, card, screenshot) {
  await card.scrollIntoViewIfNeeded();
  await page.screenshot({ path: screenshot, fullPage: false });
  const text = await card.innerText();
  console.log("DONE " + JSON.stringify({ text }));
}

module.exports = { openPersonalChat, reportFailure, cardShowing, reportCard };
