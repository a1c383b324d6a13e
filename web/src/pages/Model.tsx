// One model version: its test-split metrics and charts (confusion matrix, ROC and PR curves,
// residuals, feature importance), promotion, download, and a form that predicts one row.
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { Link, useNavigate, useParams } from 'react-router-dom';
import { downloadFile, send } from '../api/client';
import { useAction, useApi } from '../api/hooks';
import type { Dataset, Evaluation, Job, Model, Page, Prediction } from '../api/types';
import { JobRow } from './Jobs';
import { useSession } from '../auth/session';
import { BarList, ConfusionMatrix, LineChart, Scatter } from '../components/charts';
import { ConfirmButton, ErrorBox, Loading, Section, formatBytes, formatNumber } from '../components/ui';

interface Curve {
  class: string;
  fpr?: number[];
  tpr?: number[];
  precision?: number[];
  recall?: number[];
}

export function ModelPage() {
  const { id = '' } = useParams();
  const { user } = useSession();
  const navigate = useNavigate();
  const model = useApi<Model>(`models/${id}`);
  const { error, run } = useAction();
  const [notice, setNotice] = useState('');
  const m = model.data;
  if (model.error) return <ErrorBox error={model.error} />;
  if (!m) return <Loading what="the model" />;
  const test = m.evaluations?.find((e) => e.kind === 'test');
  const others = m.evaluations?.filter((e) => e.kind !== 'test') ?? [];
  const canChange = user?.role !== 'viewer';

  const promote = () =>
    run(async () => {
      await send('POST', `models/${id}/promote`);
      setNotice(`${m!.name} v${m!.version} is now the version its name serves.`);
      model.reload();
    });

  const remove = () =>
    run(async () => {
      await send('DELETE', `models/${id}`);
      navigate('/models');
    });

  const download = () =>
    run(async () => {
      await downloadFile(`models/${id}/download`, `${m!.name}-v${m!.version}.model`);
    });

  return (
    <>
      <h1>
        {m.name} <span className="muted">v{m.version}</span> {m.promoted && <span className="badge badge-succeeded">promoted</span>}
      </h1>
      <p className="muted">
        {m.algorithm} · {m.task}
        {m.target ? ` of ${m.target}` : ''} · trained on {m.train_rows.toLocaleString('en')} rows, tested on {m.test_rows.toLocaleString('en')} · fit{' '}
        {m.fit_seconds.toFixed(2)} s{m.artifact ? ` · ${formatBytes(m.artifact.bytes)}` : ''} ·{' '}
        <Link to={`/datasets/${m.dataset_id}`}>dataset</Link>
      </p>
      <div className="actions">
        {canChange && !m.promoted && (
          <button type="button" className="primary" onClick={() => void promote()}>
            Promote
          </button>
        )}
        <button type="button" onClick={() => void download()}>
          Download
        </button>
        {canChange && <ConfirmButton label="Delete" confirm={`Delete ${m.name} v${m.version} and its file?`} onConfirm={() => void remove()} />}
      </div>
      {notice && <p role="status">{notice}</p>}
      <ErrorBox error={error} />
      <Section title="Metrics (test split)">
        <MetricsTable metrics={m.metrics} />
      </Section>
      {test && <EvaluationCharts report={test.report} />}
      {others.map((e) => (
        <OtherEvaluation key={e.kind + e.created_at} evaluation={e} />
      ))}
      <TryIt model={m} />
      {canChange && <BatchPredict model={m} />}
      <Section title="Parameters">
        <MetricsTable metrics={m.params as Record<string, number>} />
      </Section>
    </>
  );
}

function MetricsTable({ metrics }: { metrics: Record<string, unknown> }) {
  return (
    <dl className="metrics">
      {Object.entries(metrics).map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>{typeof v === 'object' && v !== null ? JSON.stringify(v) : formatNumber(v)}</dd>
        </div>
      ))}
    </dl>
  );
}

export function EvaluationCharts({ report }: { report: Record<string, unknown> }) {
  const cm = report.confusion_matrix as { labels: string[]; matrix: number[][] } | undefined;
  const roc = (report.roc_curve as Curve[] | null) ?? [];
  const pr = (report.pr_curve as Curve[] | null) ?? [];
  const residuals = report.residual_plot as { predicted: number[]; residual: number[] } | undefined;
  const importance = report.feature_importance as { feature: string; importance: number }[] | undefined;
  return (
    <div className="chart-grid">
      {cm && (
        <Section title="Confusion matrix">
          <div className="table-wrap">
            <ConfusionMatrix labels={cm.labels} matrix={cm.matrix} />
          </div>
        </Section>
      )}
      {roc.length > 0 && (
        <Section title="ROC curve">
          <LineChart title="ROC curve" xLabel="false positive rate" yLabel="true positive rate" diagonal series={roc.map((c) => ({ name: c.class, x: c.fpr ?? [], y: c.tpr ?? [] }))} />
        </Section>
      )}
      {pr.length > 0 && (
        <Section title="Precision–recall curve">
          <LineChart title="Precision-recall curve" xLabel="recall" yLabel="precision" series={pr.map((c) => ({ name: c.class, x: c.recall ?? [], y: c.precision ?? [] }))} />
        </Section>
      )}
      {residuals && residuals.predicted.length > 0 && (
        <Section title="Residuals">
          <Scatter title="Residual against predicted value" x={residuals.predicted} y={residuals.residual} xLabel="predicted" yLabel="residual (actual − predicted)" />
        </Section>
      )}
      {importance && importance.length > 0 && (
        <Section title="Feature importance">
          <BarList label="Feature importance" items={importance.slice(0, 20).map((f) => ({ name: f.feature, value: f.importance }))} />
        </Section>
      )}
    </div>
  );
}

function OtherEvaluation({ evaluation }: { evaluation: Evaluation }) {
  const scalars = Object.fromEntries(Object.entries(evaluation.report).filter(([, v]) => typeof v === 'number' || (typeof v === 'object' && v !== null && 'mean' in v)));
  return (
    <Section title={evaluation.kind === 'cv' ? 'Cross-validation' : `Evaluation: ${evaluation.kind}`}>
      <MetricsTable metrics={Object.fromEntries(Object.entries(scalars).map(([k, v]) => [k, typeof v === 'number' ? v : `${formatNumber((v as { mean: number }).mean)} ± ${formatNumber((v as { std: number }).std)}`]))} />
    </Section>
  );
}

function TryIt({ model }: { model: Model }) {
  const columns = model.input_schema.columns;
  const [values, setValues] = useState<Record<string, string>>({});
  const [result, setResult] = useState<Prediction | null>(null);
  const { error, run } = useAction();
  useEffect(() => setValues({}), [model.id]);

  const predict = (e: FormEvent) => {
    e.preventDefault();
    const row: Record<string, unknown> = {};
    for (const c of columns) {
      const v = (values[c.name] ?? '').trim();
      if (v === '') row[c.name] = null;
      else if ((c.type === 'number' || c.type === 'integer') && Number.isFinite(Number(v))) row[c.name] = Number(v);
      else if (c.type === 'boolean' && (v === 'true' || v === 'false')) row[c.name] = v === 'true';
      else row[c.name] = v;
    }
    return run(async () => {
      setResult(null);
      const res = await send<{ predictions: Prediction[] }>('POST', `models/${model.id}/predict`, { rows: [row] });
      setResult(res.predictions[0]);
    });
  };

  return (
    <Section title="Try it">
      <form onSubmit={predict} aria-label="Predict one row">
        <div className="form-grid">
          {columns.map((c) => (
            <div className="field" key={c.name}>
              <label htmlFor={`try-${c.name}`}>
                {c.name} <span className="muted">({c.type})</span>
              </label>
              <input
                id={`try-${c.name}`}
                inputMode={c.type === 'number' || c.type === 'integer' ? 'decimal' : undefined}
                value={values[c.name] ?? ''}
                onChange={(e) => setValues({ ...values, [c.name]: e.target.value })}
              />
            </div>
          ))}
        </div>
        <button type="submit" className="primary">
          Predict
        </button>
      </form>
      <ErrorBox error={error} />
      {result && (
        <div className="prediction" role="status" aria-label="Prediction">
          <p>
            Prediction: <strong data-testid="prediction">{result.prediction === null ? 'none' : String(result.prediction)}</strong>
          </p>
          {result.probabilities && (
            <BarList label="Class probabilities" items={Object.entries(result.probabilities).map(([name, value]) => ({ name, value }))} />
          )}
          {result.problems && result.problems.length > 0 && (
            <ul className="problems">
              {result.problems.map((p, i) => (
                <li key={i} className={p.level === 'error' ? 'error-text' : 'muted'}>
                  {p.column}: {p.problem}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </Section>
  );
}

// Scores a whole dataset as a job, then offers its CSV.
function BatchPredict({ model }: { model: Model }) {
  const datasets = useApi<Page<Dataset>>('datasets?limit=100');
  const [datasetId, setDatasetId] = useState(model.dataset_id);
  const [job, setJob] = useState<Job | null>(null);
  const [done, setDone] = useState(false);
  const { error, run } = useAction();
  const onUpdate = useCallback((j: Job) => setDone(j.state === 'succeeded'), []);

  const start = (e: FormEvent) => {
    e.preventDefault();
    return run(async () => {
      setDone(false);
      setJob(await send<Job>('POST', `models/${model.id}/batch_predict`, { dataset_id: datasetId }));
    });
  };
  const save = () =>
    run(async () => {
      await downloadFile(`batch_predictions/${job!.id}`, `${model.name}-v${model.version}-predictions.csv`);
    });

  return (
    <Section title="Score a dataset">
      <form className="row-form" onSubmit={start} aria-label="Score a dataset">
        <div className="field">
          <label htmlFor="batch-dataset">Dataset</label>
          <select id="batch-dataset" value={datasetId} onChange={(e) => setDatasetId(e.target.value)}>
            {datasets.data?.items.map((d) => (
              <option key={d.id} value={d.id}>
                {d.name}
              </option>
            ))}
          </select>
        </div>
        <button type="submit">Score every row</button>
        {done && (
          <button type="button" className="primary" onClick={() => void save()}>
            Download predictions (CSV)
          </button>
        )}
      </form>
      <ErrorBox error={error ?? datasets.error} />
      {job && (
        <ul className="job-list">
          <JobRow key={job.id} initial={job} highlight={false} onChanged={() => undefined} onUpdate={onUpdate} />
        </ul>
      )}
    </Section>
  );
}
