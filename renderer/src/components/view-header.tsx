import type { ReactNode } from 'react';

/** The title row of a view: a heading, a line of context, and the view's main actions. */
export function ViewHeader({ title, subtitle, actions }: { title: string; subtitle?: ReactNode; actions?: ReactNode }) {
  return (
    <header className="view-header">
      <div>
        <h1 className="view-header__title" id="view-title">
          {title}
        </h1>
        {subtitle && <p className="view-header__subtitle">{subtitle}</p>}
      </div>
      {actions && <div className="view-header__actions">{actions}</div>}
    </header>
  );
}
