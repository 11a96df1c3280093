"""Checks a real browser can answer about a rendered page: labels, contrast, overflow, focus."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Page

UNLABELLED = """() => [...document.querySelectorAll('input, select, textarea')]
  .filter(e => !['hidden', 'submit', 'button'].includes(e.type))
  .filter(e => !(e.labels && e.labels.length))
  .filter(e => !e.getAttribute('aria-label') && !e.getAttribute('aria-labelledby'))
  .map(e => e.outerHTML.slice(0, 120))"""

# WCAG 2 contrast of each visible text element against the first opaque background behind it.
LOW_CONTRAST = """() => {
  const rgb = s => (s.match(/[\\d.]+/g) || []).map(Number);
  const lum = c => { const [r, g, b] = c.slice(0, 3).map(v => { v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const background = e => { for (let n = e; n; n = n.parentElement) {
      const c = rgb(getComputedStyle(n).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0.5)) return c; }
    return [255, 255, 255]; };
  const found = [];
  for (const e of document.querySelectorAll('body *')) {
    if (!e.checkVisibility || !e.checkVisibility()) continue;
    const own = [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own) continue;
    const style = getComputedStyle(e);
    const fg = rgb(style.color), bg = background(e);
    const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
    const ratio = (hi + 0.05) / (lo + 0.05);
    const size = parseFloat(style.fontSize), bold = parseInt(style.fontWeight, 10) >= 700;
    const needed = (size >= 24 || (bold && size >= 18.66)) ? 3 : 4.5;
    if (ratio < needed) found.push(`${e.tagName} "${e.textContent.trim().slice(0, 40)}" ${ratio.toFixed(2)}`);
  }
  return found;
}"""

OVERFLOW = "() => document.documentElement.scrollWidth - window.innerWidth"


async def unlabelled_inputs(page: Page) -> list[str]:
    return list(await page.evaluate(UNLABELLED))


async def low_contrast_text(page: Page) -> list[str]:
    return list(await page.evaluate(LOW_CONTRAST))


async def horizontal_overflow(page: Page) -> int:
    return int(await page.evaluate(OVERFLOW))


async def accessibility_problems(page: Page) -> dict[str, Any]:
    """Everything wrong with the current page; ``{}`` when it passes."""
    problems: dict[str, Any] = {}
    if unlabelled := await unlabelled_inputs(page):
        problems["unlabelled inputs"] = unlabelled
    if low := await low_contrast_text(page):
        problems["low contrast"] = low
    if (overflow := await horizontal_overflow(page)) > 0:
        problems["horizontal overflow (px)"] = overflow
    return problems
