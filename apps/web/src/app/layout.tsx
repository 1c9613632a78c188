import type { Metadata } from "next";
import type { ReactNode } from "react";
import { Nav } from "@/components/nav";
import { Providers } from "./providers";
import "./globals.css";

export const metadata: Metadata = {
  title: { default: "Stun — open marketplace for AI inference", template: "%s · Stun" },
  description: "Run ONNX models on a marketplace of browser and native providers, with verified results and escrowed payment.",
};

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body className="min-h-screen">
        <Providers>
          <Nav />
          <main id="main" className="mx-auto max-w-6xl px-4 py-8 sm:px-6">
            {children}
          </main>
          <footer className="mx-auto max-w-6xl px-4 pb-10 pt-4 text-xs text-slate-500 sm:px-6">
            Stun — an open marketplace for AI inference compute. API at <code className="font-mono">/api/v1</code> (
            <a className="underline hover:text-slate-700" href="/api/v1/openapi.json">
              OpenAPI
            </a>
            ).
          </footer>
        </Providers>
      </body>
    </html>
  );
}
