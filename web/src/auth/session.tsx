// Who is signed in, for every page: restored from the refresh cookie at start-up.
import { createContext, useCallback, useContext, useEffect, useState, type ReactNode } from 'react';
import { mayHaveSession, onSessionEnded, refreshSession, signIn, signOut, type User } from '../api/client';

interface Session {
  user: User | null;
  loading: boolean;
  login: (email: string, password: string) => Promise<void>;
  logout: () => Promise<void>;
}

const SessionContext = createContext<Session>({
  user: null,
  loading: true,
  login: async () => undefined,
  logout: async () => undefined,
});

export function SessionProvider({ children }: { children: ReactNode }) {
  const [user, setUser] = useState<User | null>(null);
  const [loading, setLoading] = useState(true);

  useEffect(() => {
    let live = true;
    onSessionEnded(() => setUser(null));
    (async () => {
      // The refresh answers with the account, so no second call is needed before the first page.
      const me = mayHaveSession() ? await refreshSession() : null;
      if (live) {
        setUser(me);
        setLoading(false);
      }
    })();
    return () => {
      live = false;
      onSessionEnded(null);
    };
  }, []);

  const login = useCallback(async (email: string, password: string) => setUser(await signIn(email, password)), []);
  const logout = useCallback(async () => {
    try {
      await signOut();
    } finally {
      setUser(null);
    }
  }, []);

  return <SessionContext.Provider value={{ user, loading, login, logout }}>{children}</SessionContext.Provider>;
}

export function useSession() {
  return useContext(SessionContext);
}
