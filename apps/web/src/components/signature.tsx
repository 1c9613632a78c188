import type { TensorInfo } from "@stun/shared";
import { formatShape } from "@/lib/format";

/** A model's inputs or outputs: name, dtype, shape (symbolic dimensions highlighted). */
export function SignatureTable({ title, tensors }: { title: string; tensors: TensorInfo[] }) {
  return (
    <div>
      <h3 className="mb-2 text-xs font-semibold uppercase tracking-wide text-slate-500">{title}</h3>
      {tensors.length === 0 ? (
        <p className="text-sm text-slate-500">none</p>
      ) : (
        <table className="w-full text-left text-sm">
          <caption className="sr-only">{title}</caption>
          <thead>
            <tr className="text-xs text-slate-500">
              <th scope="col" className="py-1 pr-3 font-medium">
                name
              </th>
              <th scope="col" className="py-1 pr-3 font-medium">
                dtype
              </th>
              <th scope="col" className="py-1 font-medium">
                shape
              </th>
            </tr>
          </thead>
          <tbody>
            {tensors.map((t) => (
              <tr key={t.name} className="border-t border-slate-100">
                <td className="py-1.5 pr-3 font-mono text-[0.8125rem] text-slate-900">{t.name}</td>
                <td className="py-1.5 pr-3 font-mono text-[0.8125rem] text-brand-700">{t.dtype}</td>
                <td className="py-1.5 font-mono text-[0.8125rem]">
                  <Shape shape={t.shape} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

export function Shape({ shape }: { shape: ReadonlyArray<number | string> }) {
  if (shape.length === 0) return <span className="text-slate-500">scalar</span>;
  return (
    <span title={formatShape(shape)}>
      [
      {shape.map((d, i) => (
        <span key={i}>
          {i > 0 ? ", " : ""}
          <span className={typeof d === "string" ? "text-amber-700" : undefined}>{typeof d === "string" ? d || "?" : d}</span>
        </span>
      ))}
      ]
    </span>
  );
}

/** "x: float32 [N, 4]" chips for lists. */
export function SignatureChips({ tensors }: { tensors: TensorInfo[] }) {
  return (
    <span className="flex flex-wrap gap-1.5">
      {tensors.map((t) => (
        <span key={t.name} className="rounded-md bg-slate-100 px-1.5 py-0.5 font-mono text-xs text-slate-700">
          {t.name}: {t.dtype} <Shape shape={t.shape} />
        </span>
      ))}
    </span>
  );
}
