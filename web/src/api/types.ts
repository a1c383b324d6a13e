// The shapes the API answers with (only the fields the UI reads).

export interface Column {
  name: string;
  type: string;
}

export interface Dataset {
  id: string;
  name: string;
  owner_id: string;
  rows: number;
  column_count: number;
  columns: Column[];
  size_bytes: number;
  created_at: string;
  source?: { format: string; bytes: number; file_name: string; sha256: string };
}

export interface Page<T> {
  items: T[];
  total?: number;
  offset?: number;
  limit?: number;
  next_cursor?: string | null;
}

export interface ColumnProfile {
  name: string;
  type: string;
  count: number;
  missing: number;
  distinct: number;
  min: number | null;
  max: number | null;
  mean: number | null;
  std: number | null;
  histogram: { counts: number[]; edges: number[] } | null;
  top_values: { value: string; count: number }[] | null;
}

export interface Profile {
  rows: number;
  columns: ColumnProfile[];
  correlation: { columns: string[]; matrix: (number | null)[][] } | null;
}

export interface RowsPage {
  columns: string[];
  types: string[];
  rows: unknown[][];
  offset: number;
  limit: number;
  total: number;
}

export interface Job {
  id: string;
  type: string;
  state: 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
  progress: number;
  progress_message: string;
  attempt: number;
  max_attempts: number;
  error: string | null;
  result: Record<string, unknown> | null;
  params: Record<string, unknown>;
  created_at_us: number;
  started_at_us: number | null;
  finished_at_us: number | null;
  cancel_requested: boolean;
}

export interface Parameter {
  name: string;
  type: 'integer' | 'number' | 'boolean' | 'choice' | 'string';
  default: unknown;
  minimum?: number;
  maximum?: number;
  choices?: string[];
  help: string;
}

export interface Algorithm {
  name: string;
  title: string;
  library: string;
  tasks: string[];
  parameters: Parameter[];
}

export interface Evaluation {
  kind: string;
  created_at: string;
  report: Record<string, unknown>;
}

export interface Model {
  id: string;
  name: string;
  version: number;
  algorithm: string;
  task: string;
  target: string;
  dataset_id: string;
  promoted: boolean;
  created_at: string;
  fit_seconds: number;
  train_rows: number;
  test_rows: number;
  metrics: Record<string, number>;
  params: Record<string, unknown>;
  input_schema: { columns: Column[]; target: string };
  evaluations?: Evaluation[];
  artifact?: { bytes: number; sha256: string };
}

export interface LeaderboardEntry {
  rank: number;
  model_id: string;
  name: string;
  version: number;
  algorithm: string;
  target: string;
  promoted: boolean;
  fit_seconds: number;
  metrics: Record<string, number>;
}

export interface Leaderboard {
  metric: string;
  metrics: string[];
  higher_is_better: boolean;
  items: LeaderboardEntry[];
}

export interface Prediction {
  prediction: unknown;
  probabilities?: Record<string, number>;
  problems?: { column: string; level: string; problem: string }[];
}
