import { useEffect, useState } from 'preact/hooks';
import * as api from './api';

let authorCache: Promise<Record<string, string>> | null = null;
/** useAuthors maps user ids to names where the user may list users. */
export function useAuthors(): Record<string, string> {
  const [m, setM] = useState<Record<string, string>>({});
  useEffect(() => {
    authorCache ||= api.all<api.User>('/users', {}, 1000).then(
      (us) => Object.fromEntries(us.map((u) => [u.id, u.name])), () => ({}));
    authorCache.then(setM);
  }, []);
  return m;
}
