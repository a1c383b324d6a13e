import { cleanup, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiError } from '../api/client';
import { Listing } from './Table';

afterEach(cleanup);

const columns = [
  { header: 'Name', cell: (r: { id: string; n: number }) => r.id },
  { header: 'Count', num: true, cell: (r: { id: string; n: number }) => r.n },
];

describe('Listing', () => {
  it('says it is loading, then shows the rows with figures right-aligned', () => {
    const { rerender } = render(<Listing state={{ data: null, error: null }} what="things" empty="none" columns={columns} rowKey={(r) => r.id} />);
    expect(screen.getByText('Loading things…')).toBeTruthy();
    rerender(<Listing state={{ data: { items: [{ id: 'a', n: 3 }, { id: 'b', n: 5 }] }, error: null }} what="things" empty="none" columns={columns} rowKey={(r) => r.id} />);
    const cells = screen.getAllByRole('cell');
    expect(cells.map((c) => c.textContent)).toEqual(['a', '3', 'b', '5']);
    expect(cells[1].className).toBe('num');
    expect(screen.getAllByRole('columnheader').map((h) => h.textContent)).toEqual(['Name', 'Count']);
  });

  it('shows the empty message, or the API problem instead of "Loading"', () => {
    const { rerender } = render(<Listing state={{ data: { items: [] }, error: null }} what="things" empty="Nothing yet." columns={columns} rowKey={(r) => r.id} />);
    expect(screen.getByText('Nothing yet.')).toBeTruthy();
    rerender(<Listing state={{ data: null, error: new ApiError(403, 'Forbidden', 'admins only') }} what="things" empty="none" columns={columns} rowKey={(r) => r.id} />);
    expect(screen.getByRole('alert').textContent).toContain('admins only');
    expect(screen.queryByText('Loading things…')).toBeNull();
  });
});
