import crypto from 'node:crypto';
import type { Browser } from '@playwright/test';

/** Random bytes: stand-ins for video and music (the peer goes by extension). */
export function randomMedia(bytes: number): Buffer {
  return crypto.randomBytes(bytes);
}

export function sha256(data: Buffer): string {
  return crypto.createHash('sha256').update(data).digest('hex');
}

/** Real JPEG pictures, painted by the browser, so the Library shows real thumbnails. */
export async function paintJpeg(browser: Browser, hueA: number, hueB: number): Promise<Buffer> {
  const page = await browser.newPage({ viewport: { width: 480, height: 320 } });
  try {
    await page.setContent(
      `<body style="margin:0;width:480px;height:320px;background:linear-gradient(160deg,hsl(${hueA} 70% 62%),hsl(${hueB} 65% 38%))">` +
        `<div style="position:absolute;left:60px;top:170px;width:360px;height:150px;border-radius:50% 50% 0 0;background:hsl(${hueB} 40% 22% / .75)"></div>` +
        `<div style="position:absolute;left:330px;top:50px;width:70px;height:70px;border-radius:50%;background:hsl(${hueA} 90% 85%)"></div></body>`,
    );
    return await page.screenshot({ type: 'jpeg', quality: 85 });
  } finally {
    await page.close();
  }
}
