import type { LucideIcon } from 'lucide-react';

/** A small square button showing only an icon; `label` is what assistive tech reads, `title` the tooltip. */
export function IconButton({
  icon: Icon,
  label,
  title,
  onClick,
}: {
  icon: LucideIcon;
  label: string;
  title?: string;
  onClick: () => void;
}) {
  return (
    <button type="button" className="icon-button" aria-label={label} title={title} onClick={onClick}>
      <Icon size={16} aria-hidden="true" />
    </button>
  );
}
