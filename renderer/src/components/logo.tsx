/** The MacTella mark: two peers joined by a wave. */
export function Logo({ size = 28 }: { size?: number }) {
  return (
    <svg className="logo" width={size} height={size} viewBox="0 0 64 64" aria-hidden="true">
      <defs>
        <linearGradient id="logo-bg" x1="0" y1="0" x2="1" y2="1">
          <stop offset="0" stopColor="#5b7cf0" />
          <stop offset="1" stopColor="#7a4fd6" />
        </linearGradient>
      </defs>
      <rect width="64" height="64" rx="15" fill="url(#logo-bg)" />
      <path d="M14 38c6-14 12-14 18 0s12 14 18 0" fill="none" stroke="#fff" strokeWidth="5" strokeLinecap="round" />
      <circle cx="14" cy="38" r="5.5" fill="#fff" />
      <circle cx="50" cy="38" r="5.5" fill="#fff" />
      <circle cx="32" cy="22" r="4" fill="#fff" opacity="0.85" />
    </svg>
  );
}
