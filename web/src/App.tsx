// The shell: the navigation (admin pages only for admins), the signed-in account and its role,
// and the pages by path. Signed-out visitors see the sign-in page whatever the path.
import { Suspense, lazy } from 'react';
import { NavLink, Navigate, Route, Routes } from 'react-router-dom';
import { useSession } from './auth/session';
import { Loading } from './components/ui';
import { DatasetsPage } from './pages/Datasets';
import { SignInPage } from './pages/SignIn';

// The first pages (sign-in, datasets) come with the app; the others load when first opened.
const AdminPage = lazy(() => import('./pages/Admin').then((m) => ({ default: m.AdminPage })));
const ApiKeysPage = lazy(() => import('./pages/ApiKeys').then((m) => ({ default: m.ApiKeysPage })));
const DatasetPage = lazy(() => import('./pages/Dataset').then((m) => ({ default: m.DatasetPage })));
const JobsPage = lazy(() => import('./pages/Jobs').then((m) => ({ default: m.JobsPage })));
const ModelPage = lazy(() => import('./pages/Model').then((m) => ({ default: m.ModelPage })));
const ModelsPage = lazy(() => import('./pages/Models').then((m) => ({ default: m.ModelsPage })));
const TrainPage = lazy(() => import('./pages/Train').then((m) => ({ default: m.TrainPage })));

export function App() {
  const { user, loading, logout } = useSession();
  if (loading) return <Loading what="your session" />;
  if (!user) return <SignInPage />;
  const admin = user.role === 'admin';
  return (
    <div className="app">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <span className="brand">AI Playground</span>
        <nav aria-label="Main">
          <NavLink to="/datasets">Datasets</NavLink>
          {user.role !== 'viewer' && <NavLink to="/train">Train</NavLink>}
          <NavLink to="/jobs">Jobs</NavLink>
          <NavLink to="/models">Models</NavLink>
          {user.role !== 'viewer' && <NavLink to="/api-keys">API keys</NavLink>}
          {admin && <NavLink to="/admin">Admin</NavLink>}
        </nav>
        <span className="account">
          <span title={user.email}>{user.email}</span> <span className={`role role-${user.role}`}>{user.role}</span>
          <button type="button" className="link" onClick={() => void logout()}>
            Sign out
          </button>
        </span>
      </header>
      <main id="main" tabIndex={-1}>
        <Suspense fallback={<Loading what="the page" />}>
          <Routes>
            <Route path="/" element={<Navigate to="/datasets" replace />} />
            <Route path="/datasets" element={<DatasetsPage />} />
            <Route path="/datasets/:id" element={<DatasetPage />} />
            <Route path="/train" element={<TrainPage />} />
            <Route path="/jobs" element={<JobsPage />} />
            <Route path="/models" element={<ModelsPage />} />
            <Route path="/models/:id" element={<ModelPage />} />
            <Route path="/api-keys" element={<ApiKeysPage />} />
            <Route path="/admin" element={admin ? <AdminPage /> : <NotFound />} />
            <Route path="*" element={<NotFound />} />
          </Routes>
        </Suspense>
      </main>
    </div>
  );
}

function NotFound() {
  return (
    <section className="card">
      <h1>Not found</h1>
      <p>There is no page here.</p>
    </section>
  );
}
