// The shell: the navigation (admin pages only for admins), the signed-in account and its role,
// and the pages by path. Signed-out visitors see the sign-in page whatever the path.
import { NavLink, Navigate, Route, Routes } from 'react-router-dom';
import { useSession } from './auth/session';
import { Loading } from './components/ui';
import { AdminPage } from './pages/Admin';
import { ApiKeysPage } from './pages/ApiKeys';
import { DatasetPage } from './pages/Dataset';
import { DatasetsPage } from './pages/Datasets';
import { JobsPage } from './pages/Jobs';
import { ModelPage } from './pages/Model';
import { ModelsPage } from './pages/Models';
import { SignInPage } from './pages/SignIn';
import { TrainPage } from './pages/Train';

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
