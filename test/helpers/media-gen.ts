/**
 * Real test media made with Debian's ffmpeg: H.264/AAC MP4 with the `moov`
 * index at the front (faststart) or at the end, and MP3. Small by default (a
 * few seconds at low resolution); the bench asks for longer, denser files.
 * When ffmpeg is absent, {@link FFMPEG_MISSING} says why tests skip.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const FFMPEG = process.env.MACTELLA_FFMPEG ?? '/usr/bin/ffmpeg';

/** Why media tests cannot run here, or undefined when ffmpeg is present. */
export const FFMPEG_MISSING: string | undefined = fs.existsSync(FFMPEG)
  ? undefined
  : `ffmpeg not found at ${FFMPEG} (apt-get install ffmpeg, or set MACTELLA_FFMPEG)`;

export interface VideoOptions {
  seconds?: number;
  width?: number;
  height?: number;
  /** Target video bitrate in bits per second; held near-constant so a rate cap can be set against it. */
  videoBitrate?: number;
  /** `faststart` puts `moov` first; `end` leaves it after the media data, as many cameras and encoders do. */
  moov?: 'faststart' | 'end';
}

export interface MadeMedia {
  path: string;
  size: number;
  seconds: number;
  /** Average bits per second of the whole file. */
  bitrate: number;
}

async function ffmpeg(args: string[], out: string, seconds: number): Promise<MadeMedia> {
  if (FFMPEG_MISSING) throw new Error(FFMPEG_MISSING);
  await fs.promises.mkdir(path.dirname(out), { recursive: true });
  await run(FFMPEG, ['-hide_banner', '-loglevel', 'error', '-y', ...args, out], { timeout: 120_000 });
  const size = (await fs.promises.stat(out)).size;
  return { path: out, size, seconds, bitrate: (size * 8) / seconds };
}

/** An H.264 (yuv420p, one keyframe a second) + AAC MP4 of a moving test pattern and a tone. */
export function makeMp4(out: string, opts: VideoOptions = {}): Promise<MadeMedia> {
  const { seconds = 4, width = 320, height = 240, videoBitrate, moov = 'faststart' } = opts;
  const rate = videoBitrate
    ? ['-b:v', String(videoBitrate), '-minrate', String(videoBitrate), '-maxrate', String(videoBitrate), '-bufsize', String(videoBitrate)]
    : ['-crf', '30'];
  return ffmpeg(
    [
      ['-f', 'lavfi', '-i', `testsrc2=size=${width}x${height}:rate=25`],
      ['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100'],
      ['-t', String(seconds), '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', '25', ...rate],
      videoBitrate ? ['-x264-params', 'nal-hrd=cbr'] : [],
      ['-c:a', 'aac', '-b:a', '64k'],
      moov === 'faststart' ? ['-movflags', '+faststart'] : [],
    ].flat(),
    out,
    seconds,
  );
}

/** An HEVC + AC3 Matroska file, as cameras and rips make them: Chromium without hardware decoding plays neither track. */
export function makeHevcMkv(out: string, seconds = 3): Promise<MadeMedia> {
  return ffmpeg(
    [
      ['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000'],
      [
        '-t',
        String(seconds),
        '-c:v',
        'libx265',
        '-preset',
        'ultrafast',
        '-x265-params',
        'log-level=error',
        '-pix_fmt',
        'yuv420p',
        '-c:a',
        'ac3',
      ],
    ].flat(),
    out,
    seconds,
  );
}

/** A 128 kbit/s MP3 of a tone. */
export function makeMp3(out: string, seconds = 4): Promise<MadeMedia> {
  return ffmpeg(
    ['-f', 'lavfi', '-i', 'sine=frequency=660:sample_rate=44100', '-t', String(seconds), '-c:a', 'libmp3lame', '-b:a', '128k'],
    out,
    seconds,
  );
}

/** Where the `moov` box sits in an MP4: its byte offset and whether it comes before `mdat`. */
export function moovPosition(file: Buffer): { moov: number; mdat: number } {
  let moov = -1;
  let mdat = -1;
  for (let pos = 0; pos + 8 <= file.length;) {
    const size = file.readUInt32BE(pos);
    const type = file.toString('latin1', pos + 4, pos + 8);
    if (type === 'moov') moov = pos;
    if (type === 'mdat') mdat = pos;
    const boxSize = size === 1 ? Number(file.readBigUInt64BE(pos + 8)) : size === 0 ? file.length - pos : size;
    if (boxSize < 8) break;
    pos += boxSize;
  }
  return { moov, mdat };
}
