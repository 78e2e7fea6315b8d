import type { LucideIcon } from 'lucide-react';
import type { ButtonHTMLAttributes, ReactNode } from 'react';

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

/** A button with an icon before its text; other attributes (class, title, aria-label, onClick) pass through. */
export function IconTextButton({
  icon: Icon,
  iconSize = 16,
  children,
  ...rest
}: { icon: LucideIcon; iconSize?: number; children: ReactNode } & Omit<ButtonHTMLAttributes<HTMLButtonElement>, 'type'>) {
  return (
    <button type="button" {...rest}>
      <Icon size={iconSize} aria-hidden="true" />
      {children}
    </button>
  );
}
