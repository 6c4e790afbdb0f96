// The frame of a dashboard panel: title, optional tools, and its loading, error and empty states.
import type { ReactNode } from "react";

export interface PanelProps {
  id: string;
  title: string;
  tools?: ReactNode;
  error?: string;
  loading?: boolean;
  className?: string;
  children: ReactNode;
}

export function Panel({ id, title, tools, error, loading, className, children }: PanelProps) {
  return (
    <section className={`panel ${className ?? ""}`} id={`panel-${id}`} data-panel={id} aria-labelledby={`panel-${id}-title`}>
      <header>
        <h2 id={`panel-${id}-title`}>{title}</h2>
        {loading ? <span className="badge muted">loading…</span> : null}
        <div className="tools">{tools}</div>
      </header>
      {error ? (
        <div className="error" role="alert">
          {error}
        </div>
      ) : null}
      <div className="body">{children}</div>
    </section>
  );
}
