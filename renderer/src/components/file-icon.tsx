import { File, Film, Image, Music } from 'lucide-react';
import type { MediaType } from '../../../shared/types.js';

const ICONS = { video: Film, music: Music, picture: Image } as const;

/** The icon for a media type, tinted with the type's colour. */
export function FileIcon({ type, size = 20 }: { type?: MediaType; size?: number }) {
  const Icon = type ? ICONS[type] : File;
  return (
    <span className={`file-icon file-icon--${type ?? 'unknown'}`} aria-hidden="true">
      <Icon size={size} strokeWidth={1.8} />
    </span>
  );
}

/** How each media type is named in the UI. */
export const TYPE_LABELS: Record<MediaType, string> = { video: 'Video', music: 'Music', picture: 'Picture' };
