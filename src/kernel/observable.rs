//! Scalars whose ops an audit can observe: the native formats, seen as they are, and
//! [`Held`] values, each op seen in the native type of its own format (a per-op precision
//! policy gives every op one format for its inputs and its result).

use super::{OpRecord, Tensor};
use crate::format::{Format, FormatFn, Held, Native, Scalar};

/// A computation over an op record in a native format (closures cannot be generic).
pub trait RecordFn {
    /// Runs it with the record, in `T`.
    fn call<T: Native>(self, record: &OpRecord<'_, T>);
}

/// A scalar whose op records can be seen in a native format.
pub trait Observable: Scalar {
    /// Runs `f` with `record` in the native type of its op's format.
    fn with_native<F: RecordFn>(record: &OpRecord<'_, Self>, f: F);
}

impl<T: Native> Observable for T {
    fn with_native<F: RecordFn>(record: &OpRecord<'_, T>, f: F) {
        f.call(record);
    }
}

impl Observable for Held {
    /// The op's format is that of its output (and of its inputs, which the engine converts
    /// into it); an op with no element has nothing to convert and is seen in f64.
    fn with_native<F: RecordFn>(record: &OpRecord<'_, Held>, f: F) {
        let format = record
            .output
            .iter()
            .chain(record.inputs.iter().flat_map(|t| t.iter()))
            .next()
            .map_or(Format::F64, Held::format);
        format.dispatch(AsNative { record, f });
    }
}

struct AsNative<'r, 'a, F> {
    record: &'r OpRecord<'a, Held>,
    f: F,
}

impl<F: RecordFn> FormatFn for AsNative<'_, '_, F> {
    type Output = ();
    fn call<T: Native>(self, _: Format) {
        // Exact: every value is one of T's (inputs are converted before the op).
        let native = |t: &Tensor<Held>| t.mapv(|x| T::from_f64(x.to_f64(), &()));
        let record = self.record;
        let inputs: Vec<Tensor<T>> = record.inputs.iter().map(|t| native(t)).collect();
        let inputs: Vec<&Tensor<T>> = inputs.iter().collect();
        let output = native(record.output);
        self.f.call(&OpRecord {
            name: record.name,
            kind: record.kind,
            inputs: &inputs,
            output: &output,
            scale: record.scale,
            role: record.role,
            carries: record.carries,
            source: record.source,
            quantization: record.quantization,
        });
    }
}
