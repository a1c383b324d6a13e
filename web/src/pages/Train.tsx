// Train a model: a dataset, its target and task, an algorithm with its generated parameter form,
// and the preprocessing steps. Starting queues a training job and opens the jobs page.
import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { useNavigate, useSearchParams } from 'react-router-dom';
import { ApiError, send } from '../api/client';
import { useApi } from '../api/hooks';
import type { Algorithm, Column, Dataset, Job, Page, Profile } from '../api/types';
import { ParamForm, checkParams, defaultValues, type ParamValues } from '../components/ParamForm';
import { ErrorBox, Loading, Section, SelectField, type Option } from '../components/ui';

const TASKS = ['binary', 'multiclass', 'regression', 'clustering'];

// The task a target column suggests: numbers are regressed, two values are binary, more are
// multiclass.
export function suggestTask(type: string | undefined, distinct: number | undefined): string {
  if (!type) return 'clustering';
  if ((type === 'number' || type === 'integer') && (distinct ?? 3) > 10) return 'regression';
  return (distinct ?? 3) === 2 ? 'binary' : 'multiclass';
}

interface Steps {
  scale: string;
  imputeNumeric: string;
  imputeCategorical: string;
  encode: string;
  maxLevels: string;
  clip: string;
  split: string;
  testFraction: string;
  timeColumn: string;
  drop: string[];
}

const DEFAULT_STEPS: Steps = {
  scale: 'none',
  imputeNumeric: 'mean',
  imputeCategorical: 'most_frequent',
  encode: 'onehot',
  maxLevels: '20',
  clip: 'none',
  split: 'random',
  testFraction: '0.2',
  timeColumn: '',
  drop: [],
};

export function TrainPage() {
  const [search] = useSearchParams();
  const navigate = useNavigate();
  const datasets = useApi<Page<Dataset>>('datasets?limit=100');
  const algorithms = useApi<Page<Algorithm>>('algorithms');
  const [datasetId, setDatasetId] = useState(search.get('dataset') ?? '');
  const profile = useApi<Profile>(datasetId ? `datasets/${datasetId}/profile` : null);
  const [target, setTarget] = useState('');
  const [task, setTask] = useState('multiclass');
  const [algorithm, setAlgorithm] = useState('');
  const [values, setValues] = useState<ParamValues>({});
  const [paramErrors, setParamErrors] = useState<Record<string, string>>({});
  const [steps, setSteps] = useState<Steps>(DEFAULT_STEPS);
  const [name, setName] = useState('');
  const [cvFolds, setCvFolds] = useState('0');
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);

  const dataset = datasets.data?.items.find((d) => d.id === datasetId);
  useEffect(() => {
    if (!datasetId && datasets.data?.items.length) setDatasetId(datasets.data.items[0].id);
  }, [datasets.data, datasetId]);
  useEffect(() => {
    if (!dataset) return;
    const last = dataset.columns[dataset.columns.length - 1];
    setTarget(last?.name ?? '');
    setSteps(DEFAULT_STEPS);
  }, [dataset]);
  useEffect(() => {
    const col = profile.data?.columns.find((c) => c.name === target);
    setTask(target ? suggestTask(col?.type, col?.distinct) : 'clustering');
  }, [target, profile.data]);

  const fitting = useMemo(() => (algorithms.data?.items ?? []).filter((a) => a.tasks.includes(task)), [algorithms.data, task]);
  const algo = fitting.find((a) => a.name === algorithm);
  useEffect(() => {
    if (!fitting.some((a) => a.name === algorithm) && fitting.length > 0) setAlgorithm(fitting[0].name);
  }, [fitting, algorithm]);
  useEffect(() => {
    if (algo) {
      setValues(defaultValues(algo.parameters));
      setParamErrors({});
    }
  }, [algo]);

  // Once a problem is shown, it follows the edits (and goes away when they fix it).
  function editParams(next: ParamValues) {
    setValues(next);
    if (!algo || Object.keys(paramErrors).length === 0) return;
    const { errors } = checkParams(algo.parameters, next);
    setParamErrors(errors);
    if (Object.keys(errors).length === 0) setError(null);
  }

  async function start(e: FormEvent) {
    e.preventDefault();
    if (!algo || !dataset) return;
    const checked = checkParams(algo.parameters, values);
    setParamErrors(checked.errors);
    if (Object.keys(checked.errors).length > 0) {
      setError(new ApiError(0, 'Check the parameters', Object.entries(checked.errors).map(([k, v]) => `${k}: ${v}`).join('; ')));
      return;
    }
    const body: Record<string, unknown> = {
      dataset_id: dataset.id,
      task,
      algorithm: algo.name,
      params: checked.values,
      cv_folds: Number(cvFolds),
      preprocessing: {
        drop: steps.drop,
        scale: steps.scale,
        impute: { numeric: steps.imputeNumeric, categorical: steps.imputeCategorical },
        encode: { method: steps.encode, max_levels: Number(steps.maxLevels) },
        clip: { method: steps.clip },
        split: { method: steps.split, test_fraction: Number(steps.testFraction), time_column: steps.split === 'time' ? steps.timeColumn || null : null },
      },
    };
    if (task !== 'clustering') body.target = target;
    if (name.trim()) body.name = name.trim();
    setBusy(true);
    setError(null);
    try {
      const job = await send<Job>('POST', 'models', body);
      navigate(`/jobs?job=${job.id}`);
    } catch (err) {
      setError(err as ApiError);
    } finally {
      setBusy(false);
    }
  }

  if (datasets.error || algorithms.error) return <ErrorBox error={datasets.error ?? algorithms.error} />;
  if (!datasets.data || !algorithms.data) return <Loading what="datasets and algorithms" />;
  if (datasets.data.items.length === 0) return <p>Upload a dataset first.</p>;
  const set = (patch: Partial<Steps>) => setSteps({ ...steps, ...patch });
  const others = dataset?.columns.filter((c) => c.name !== target) ?? [];

  return (
    <form onSubmit={start} aria-label="Train a model" noValidate>
      <h1>Train a model</h1>
      <Section title="What to learn">
        <div className="form-grid">
          <SelectField id="dataset" label="Dataset" value={datasetId} onChange={setDatasetId} options={datasets.data.items.map((d) => ({ value: d.id, label: d.name }))} />
          <SelectField id="task" label="Task" value={task} onChange={setTask} options={TASKS} />
          {task !== 'clustering' && <SelectField id="target" label="Target column" value={target} onChange={setTarget} options={columnOptions(dataset?.columns ?? [])} />}
          <SelectField id="algorithm" label="Algorithm" value={algorithm} onChange={setAlgorithm} options={fitting.map((a) => ({ value: a.name, label: `${a.title} (${a.library})` }))} />
          <div className="field">
            <label htmlFor="model-name">Model name (optional)</label>
            <input id="model-name" value={name} maxLength={200} placeholder={dataset ? `${dataset.name}-${target}-${algorithm}` : ''} onChange={(e) => setName(e.target.value)} />
          </div>
          <div className="field">
            <label htmlFor="cv">Cross-validation folds</label>
            <input id="cv" type="number" min={0} max={10} value={cvFolds} onChange={(e) => setCvFolds(e.target.value)} />
            <small className="muted">0: none; 2 to 10: k-fold scores beside the test split</small>
          </div>
        </div>
      </Section>
      <Section title={`Parameters${algo ? ` of ${algo.title}` : ''}`}>
        {algo && <ParamForm params={algo.parameters} values={values} errors={paramErrors} onChange={editParams} />}
      </Section>
      <Section title="Preprocessing">
        <div className="form-grid">
          <SelectField id="scale" label="Scale numbers" value={steps.scale} options={['none', 'standard', 'minmax', 'robust']} onChange={(v) => set({ scale: v })} />
          <SelectField id="impute-num" label="Fill missing numbers" value={steps.imputeNumeric} options={['mean', 'median', 'most_frequent', 'constant']} onChange={(v) => set({ imputeNumeric: v })} />
          <SelectField id="impute-cat" label="Fill missing categories" value={steps.imputeCategorical} options={['most_frequent', 'constant']} onChange={(v) => set({ imputeCategorical: v })} />
          <SelectField id="encode" label="Encode categories" value={steps.encode} options={['onehot', 'ordinal', 'target']} onChange={(v) => set({ encode: v })} />
          <div className="field">
            <label htmlFor="max-levels">One-hot levels at most</label>
            <input id="max-levels" type="number" min={2} max={1000} value={steps.maxLevels} onChange={(e) => set({ maxLevels: e.target.value })} />
          </div>
          <SelectField id="clip" label="Clip outliers" value={steps.clip} options={['none', 'quantile', 'iqr']} onChange={(v) => set({ clip: v })} />
          <SelectField id="split" label="Test split" value={steps.split} options={['random', 'stratified', 'time']} onChange={(v) => set({ split: v })} />
          {steps.split === 'time' && (
            <SelectField
              id="time-column"
              label="Time column (the latest rows are the test split)"
              value={steps.timeColumn}
              onChange={(v) => set({ timeColumn: v })}
              options={[{ value: '', label: 'choose a column' }, ...columnOptions(others)]}
            />
          )}
          <div className="field">
            <label htmlFor="test-fraction">Test fraction</label>
            <input id="test-fraction" type="number" min={0.05} max={0.5} step={0.05} value={steps.testFraction} onChange={(e) => set({ testFraction: e.target.value })} />
          </div>
        </div>
        {others.length > 0 && (
          <fieldset className="drop">
            <legend>Leave out columns</legend>
            {others.map((c) => (
              <label key={c.name} className="check">
                <input
                  type="checkbox"
                  checked={steps.drop.includes(c.name)}
                  onChange={(e) => set({ drop: e.target.checked ? [...steps.drop, c.name] : steps.drop.filter((x) => x !== c.name) })}
                />
                {c.name}
              </label>
            ))}
          </fieldset>
        )}
      </Section>
      <ErrorBox error={error} />
      <button type="submit" className="primary big" disabled={busy || !algo}>
        Start training
      </button>
    </form>
  );
}
function columnOptions(columns: Column[]): Option[] {
  return columns.map((c) => ({ value: c.name, label: `${c.name} (${c.type})` }));
}
