import path from 'node:path';
import type { MediaType } from '../../shared/types.js';

/** The seed's three extensions plus the common modern formats, matched case-insensitively. */
const EXTENSIONS: Record<string, MediaType> = {
  '.mov': 'video',
  '.mp4': 'video',
  '.mkv': 'video',
  '.webm': 'video',
  '.m4v': 'video',
  '.avi': 'video',
  '.mp3': 'music',
  '.flac': 'music',
  '.wav': 'music',
  '.ogg': 'music',
  '.m4a': 'music',
  '.aac': 'music',
  '.opus': 'music',
  '.jpg': 'picture',
  '.jpeg': 'picture',
  '.png': 'picture',
  '.gif': 'picture',
  '.webp': 'picture',
  '.heic': 'picture',
};

export function mediaTypeOf(fileName: string): MediaType | undefined {
  return EXTENSIONS[path.extname(fileName).toLowerCase()];
}

/** MIME types for previews (renderer `<img>`/`<audio>`/`<video>`). */
const MIME: Record<string, string> = {
  '.mov': 'video/quicktime',
  '.mp4': 'video/mp4',
  '.m4v': 'video/mp4',
  '.mkv': 'video/x-matroska',
  '.webm': 'video/webm',
  '.avi': 'video/x-msvideo',
  '.mp3': 'audio/mpeg',
  '.flac': 'audio/flac',
  '.wav': 'audio/wav',
  '.ogg': 'audio/ogg',
  '.m4a': 'audio/mp4',
  '.aac': 'audio/aac',
  '.opus': 'audio/ogg',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.heic': 'image/heic',
};

export function mimeTypeOf(fileName: string): string {
  return MIME[path.extname(fileName).toLowerCase()] ?? 'application/octet-stream';
}
