import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Parameter } from '../api/types';
import { ParamForm, checkParams, defaultValues } from './ParamForm';

afterEach(cleanup);

// Declarations in the form GET /api/v1/algorithms answers with.
const PARAMS: Parameter[] = [
  { name: 'n_estimators', type: 'integer', default: 100, minimum: 1, maximum: 10000, help: 'Boosting rounds.' },
  { name: 'learning_rate', type: 'number', default: 0.1, minimum: 0.0001, maximum: 1, help: 'Shrinkage.' },
  { name: 'tree_method', type: 'choice', default: 'exact', choices: ['exact', 'hist'], help: 'How splits are found.' },
  { name: 'fit_intercept', type: 'boolean', default: true, help: 'Fit an intercept.' },
];

describe('checkParams', () => {
  it('types the defaults', () => {
    expect(checkParams(PARAMS, defaultValues(PARAMS))).toEqual({
      values: { n_estimators: 100, learning_rate: 0.1, tree_method: 'exact', fit_intercept: true },
      errors: {},
    });
  });

  it('names each value out of its declared range or type', () => {
    const { errors } = checkParams(PARAMS, { n_estimators: '2.5', learning_rate: '3', tree_method: 'approx', fit_intercept: false });
    expect(errors).toEqual({ n_estimators: 'must be a whole number', learning_rate: 'at most 1', tree_method: 'one of exact, hist' });
    expect(checkParams(PARAMS, { ...defaultValues(PARAMS), n_estimators: '0' }).errors).toEqual({ n_estimators: 'at least 1' });
    expect(checkParams(PARAMS, { ...defaultValues(PARAMS), n_estimators: '' }).errors).toEqual({ n_estimators: 'required' });
    expect(checkParams(PARAMS, { ...defaultValues(PARAMS), learning_rate: 'abc' }).errors).toEqual({ learning_rate: 'must be a number' });
  });
});

describe('ParamForm', () => {
  it('generates an input per parameter from its declaration', () => {
    render(<ParamForm params={PARAMS} values={defaultValues(PARAMS)} errors={{}} onChange={() => undefined} />);
    const rounds = screen.getByLabelText(/n_estimators/) as HTMLInputElement;
    expect(rounds.type).toBe('number');
    expect(rounds.value).toBe('100');
    expect(rounds.min).toBe('1');
    expect(rounds.max).toBe('10000');
    expect(rounds.step).toBe('1');
    expect((screen.getByLabelText(/learning_rate/) as HTMLInputElement).step).toBe('any');
    const method = screen.getByLabelText(/tree_method/) as HTMLSelectElement;
    expect([...method.options].map((o) => o.value)).toEqual(['exact', 'hist']);
    expect((screen.getByLabelText(/fit_intercept/) as HTMLInputElement).checked).toBe(true);
    expect(screen.getByText('Boosting rounds.')).toBeTruthy();
  });

  it('reports edits and shows a problem in place of the help', () => {
    const onChange = vi.fn();
    render(<ParamForm params={PARAMS} values={defaultValues(PARAMS)} errors={{ learning_rate: 'at most 1' }} onChange={onChange} />);
    fireEvent.change(screen.getByLabelText(/n_estimators/), { target: { value: '250' } });
    expect(onChange).toHaveBeenCalledWith(expect.objectContaining({ n_estimators: '250' }));
    expect(screen.getByText('learning_rate: at most 1')).toBeTruthy();
    expect(screen.getByLabelText(/learning_rate/).getAttribute('aria-invalid')).toBe('true');
  });
});
