import { useVirtualizer } from '@tanstack/react-virtual';
import { useRef, type ReactNode } from 'react';

/** Height of one list row in px (.row in app.css). */
const ROW_HEIGHT = 60;

/**
 * A list of rows in the view's scroll area, virtualized: only the rows in
 * view, and `overscan` more on each side, are in the DOM, so a library or a
 * search of thousands of files stays responsive.
 */
export function VirtualList<T>({
  items,
  label,
  overscan,
  itemKey,
  rowClassName,
  rowTestId,
  children,
}: {
  items: readonly T[];
  /** The list's accessible name. */
  label: string;
  overscan: number;
  itemKey: (item: T) => string;
  rowClassName: string;
  rowTestId: string;
  /** What one row shows. */
  children: (item: T) => ReactNode;
}) {
  const scroller = useRef<HTMLDivElement>(null);
  const rows = useVirtualizer({ count: items.length, getScrollElement: () => scroller.current, estimateSize: () => ROW_HEIGHT, overscan });
  return (
    <div className="list-scroll" ref={scroller}>
      <ul className="list" aria-label={label} style={{ height: rows.getTotalSize() }}>
        {rows.getVirtualItems().map((row) => {
          const item = items[row.index]!;
          return (
            <li
              key={itemKey(item)}
              className={rowClassName}
              data-testid={rowTestId}
              style={{ transform: `translateY(${row.start}px)`, height: row.size }}
            >
              {children(item)}
            </li>
          );
        })}
      </ul>
    </div>
  );
}
