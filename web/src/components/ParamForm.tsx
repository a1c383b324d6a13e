// The parameter form of an algorithm, generated from the API's declarations (GET /algorithms):
// each parameter's type picks the input, its range bounds it, its default fills it, its help
// text describes it. The server checks again; this catches mistakes before a round trip.
import type { Parameter } from '../api/types';

export type ParamValues = Record<string, string | boolean>;

export function defaultValues(params: Parameter[]): ParamValues {
  const v: ParamValues = {};
  for (const p of params) v[p.name] = p.type === 'boolean' ? Boolean(p.default) : p.default === null || p.default === undefined ? '' : String(p.default);
  return v;
}

// Typed values for the request, or the problems per parameter.
export function checkParams(params: Parameter[], values: ParamValues): { values: Record<string, unknown>; errors: Record<string, string> } {
  const out: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  for (const p of params) {
    const raw = values[p.name];
    if (p.type === 'boolean') {
      out[p.name] = Boolean(raw);
      continue;
    }
    const text = String(raw ?? '').trim();
    if (p.type === 'choice' || p.type === 'string') {
      if (p.choices && !p.choices.includes(text)) errors[p.name] = `one of ${p.choices.join(', ')}`;
      else out[p.name] = text;
      continue;
    }
    if (text === '') {
      errors[p.name] = 'required';
      continue;
    }
    const n = Number(text);
    if (!Number.isFinite(n)) errors[p.name] = 'must be a number';
    else if (p.type === 'integer' && !Number.isInteger(n)) errors[p.name] = 'must be a whole number';
    else if (p.minimum !== undefined && n < p.minimum) errors[p.name] = `at least ${p.minimum}`;
    else if (p.maximum !== undefined && n > p.maximum) errors[p.name] = `at most ${p.maximum}`;
    else out[p.name] = n;
  }
  return { values: out, errors };
}

export function ParamForm({
  params,
  values,
  errors,
  onChange,
}: {
  params: Parameter[];
  values: ParamValues;
  errors: Record<string, string>;
  onChange: (v: ParamValues) => void;
}) {
  if (params.length === 0) return <p className="muted">This algorithm has no parameters.</p>;
  return (
    <div className="param-grid">
      {params.map((p) => {
        const id = `param-${p.name}`;
        const set = (v: string | boolean) => onChange({ ...values, [p.name]: v });
        const range = p.minimum !== undefined || p.maximum !== undefined ? ` (${p.minimum ?? '−∞'} to ${p.maximum ?? '∞'})` : '';
        return (
          <div className="field" key={p.name}>
            <label htmlFor={id}>
              {p.name}
              <span className="muted">{range}</span>
            </label>
            {p.type === 'boolean' ? (
              <input id={id} type="checkbox" checked={Boolean(values[p.name])} onChange={(e) => set(e.target.checked)} aria-describedby={`${id}-help`} />
            ) : p.type === 'choice' && p.choices ? (
              <select id={id} value={String(values[p.name])} onChange={(e) => set(e.target.value)} aria-describedby={`${id}-help`}>
                {p.choices.map((c) => (
                  <option key={c} value={c}>
                    {c}
                  </option>
                ))}
              </select>
            ) : (
              <input
                id={id}
                type="number"
                inputMode="decimal"
                step={p.type === 'integer' ? 1 : 'any'}
                min={p.minimum}
                max={p.maximum}
                value={String(values[p.name] ?? '')}
                onChange={(e) => set(e.target.value)}
                aria-invalid={errors[p.name] ? true : undefined}
                aria-describedby={`${id}-help`}
              />
            )}
            <small id={`${id}-help`} className={errors[p.name] ? 'field-error' : 'muted'}>
              {errors[p.name] ? `${p.name}: ${errors[p.name]}` : p.help}
            </small>
          </div>
        );
      })}
    </div>
  );
}
