// Tables of API items: columns declared once (header, cell, alignment), and the states of a
// listing (error, loading, empty) handled in one place.
import type { ReactNode } from 'react';
import type { ApiError } from '../api/client';
import { ErrorBox, Loading } from './ui';

export interface Column<T> {
  header: ReactNode;
  cell: (row: T) => ReactNode;
  num?: boolean; // right-aligned figures
  className?: string;
}

export function Table<T>({ rows, columns, rowKey, caption }: { rows: T[]; columns: Column<T>[]; rowKey: (row: T) => string; caption?: ReactNode }) {
  return (
    <div className="table-wrap">
      <table>
        {caption && <caption className="muted">{caption}</caption>}
        <thead>
          <tr>
            {columns.map((c, i) => (
              <th scope="col" key={i} className={c.num ? 'num' : undefined}>
                {c.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={rowKey(r)}>
              {columns.map((c, i) => (
                <td key={i} className={[c.num ? 'num' : '', c.className ?? ''].join(' ').trim() || undefined}>
                  {c.cell(r)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

// A listing loaded from the API: its error, "Loading…", the empty message, or the table.
export function Listing<T>({
  state,
  what,
  empty,
  ...table
}: {
  state: { data: { items: T[] } | null; error: ApiError | null };
  what: string;
  empty: ReactNode;
  columns: Column<T>[];
  rowKey: (row: T) => string;
  caption?: ReactNode;
}) {
  return (
    <>
      <ErrorBox error={state.error} />
      {!state.data ? (
        !state.error && <Loading what={what} />
      ) : state.data.items.length === 0 ? (
        <p className="muted">{empty}</p>
      ) : (
        <Table rows={state.data.items} {...table} />
      )}
    </>
  );
}
