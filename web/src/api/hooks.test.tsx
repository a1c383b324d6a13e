import { act, renderHook } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { ApiError } from './client';
import { useAction } from './hooks';

describe('useAction', () => {
  it('keeps the problem of a failed action and clears it when the next one starts', async () => {
    const { result } = renderHook(() => useAction());
    await act(() => result.current.run(async () => Promise.reject(new ApiError(409, 'Conflict', 'the dataset changed meanwhile'))));
    expect(result.current.error?.status).toBe(409);
    expect(result.current.error?.detail).toBe('the dataset changed meanwhile');
    let ran = false;
    await act(() =>
      result.current.run(async () => {
        ran = true;
      }),
    );
    expect(ran).toBe(true);
    expect(result.current.error).toBeNull();
  });

  it('wraps an error that is not from the API', async () => {
    const { result } = renderHook(() => useAction());
    await act(() => result.current.run(async () => Promise.reject(new TypeError('boom'))));
    expect(result.current.error).toBeInstanceOf(ApiError);
    expect(result.current.error?.detail).toContain('boom');
  });
});
