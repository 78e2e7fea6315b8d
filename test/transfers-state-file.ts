import fs from 'node:fs';
import path from 'node:path';

/** The one resume state a test peer keeps in its data folder (transfers/<hash>.json). */
export async function readResumeState(dataDir: string): Promise<{ pieces: string[]; done: string; finalPath: string }> {
  const dir = path.join(dataDir, 'transfers');
  const names = (await fs.promises.readdir(dir)).filter((n) => n.endsWith('.json'));
  if (names.length !== 1) throw new Error(`expected one resume state in ${dir}, found ${names.length}`);
  return JSON.parse(await fs.promises.readFile(path.join(dir, names[0]!), 'utf8')) as { pieces: string[]; done: string; finalPath: string };
}
