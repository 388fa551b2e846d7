//! Integration of the fast micro-kernels of [`super::conv_fast`],
//! [`super::dwconv`] and [`super::gemm`]: they are emitted as separate
//! functions with the signature `(input, weights, bias, residual, output,
//! task_begin, task_end)` and called from the node's kernel function.

use super::conv_fast::{emit_conv_for, pack_conv_weights, plan_conv, ConvSpec};
use super::gemm::{emit_linear_for, pack_linear_weights, set_target_attrs, LinearSpec};
use super::winograd::{emit_winograd, pack_winograd_weights, WinoPlan};
use super::{CgError, Kcx, R};
use crate::PlanError;
use inkwell::module::Linkage;
use inkwell::values::{IntValue, PointerValue};

/// What the fast kernel computes.
#[derive(Clone, Debug)]
pub enum FastKind {
    Conv(ConvSpec),
    Linear(LinearSpec),
    /// A 3×3 stride-1 conv on Winograd F(m×m, 3×3) ([`super::winograd`]).
    Winograd(ConvSpec, WinoPlan),
}

/// A convolution or linear layer on a fast kernel.
#[derive(Clone, Debug)]
pub struct FastPlan {
    pub kind: FastKind,
    pub num_tasks: u64,
    /// Packed weights and bias (f32 offsets in the blob).
    pub w_off: u64,
    pub b_off: Option<u64>,
    pub macs: u64,
}

impl FastPlan {
    /// Plans a conv; `None` when the fast kernels do not take it.
    pub fn conv(spec: ConvSpec) -> Option<FastPlan> {
        let plan = plan_conv(&spec).ok()?;
        let (oh, ow) = (plan.oh as u64, plan.ow as u64);
        let macs = (spec.n * spec.cout) as u64
            * oh
            * ow
            * (spec.cin / spec.groups.max(1) * spec.kh * spec.kw) as u64;
        Some(FastPlan {
            kind: FastKind::Conv(spec),
            num_tasks: plan.num_tasks as u64,
            w_off: 0,
            b_off: None,
            macs,
        })
    }

    /// Plans a conv on Winograd F(m×m, 3×3); `None` when it does not apply.
    pub fn winograd(spec: ConvSpec, m: usize) -> Option<FastPlan> {
        let plan = WinoPlan::new(&spec, m).ok()?;
        let macs = (spec.n * spec.cout) as u64 * (plan.oh * plan.ow) as u64 * (spec.cin * 9) as u64;
        Some(FastPlan {
            num_tasks: plan.num_tasks as u64,
            kind: FastKind::Winograd(spec, plan),
            w_off: 0,
            b_off: None,
            macs,
        })
    }

    /// This plan, or the same conv on Winograd when [`super::winograd::choose`]
    /// picks a variant for it.
    pub fn prefer_winograd(self) -> FastPlan {
        if let FastKind::Conv(spec) = &self.kind {
            if let Some(w) =
                super::winograd::choose(spec).and_then(|m| Self::winograd(spec.clone(), m))
            {
                return w;
            }
        }
        self
    }

    /// Plans a linear layer; `None` when the fast kernels do not take it.
    pub fn linear(spec: LinearSpec) -> Option<FastPlan> {
        let plan = spec.plan().ok()?;
        let macs = (spec.m * spec.n * spec.k) as u64;
        Some(FastPlan {
            kind: FastKind::Linear(spec),
            num_tasks: plan.num_tasks as u64,
            w_off: 0,
            b_off: None,
            macs,
        })
    }

    /// Packs PyTorch-layout weights.
    pub fn pack(&self, w: &[f32]) -> Result<Vec<f32>, PlanError> {
        match &self.kind {
            FastKind::Conv(s) => pack_conv_weights(w, s).map_err(PlanError::Kernel),
            FastKind::Linear(s) => pack_linear_weights(w, s).map_err(PlanError::Kernel),
            FastKind::Winograd(s, p) => pack_winograd_weights(w, s, p.m).map_err(PlanError::Kernel),
        }
    }

    fn residual(&self) -> bool {
        match &self.kind {
            FastKind::Conv(s) | FastKind::Winograd(s, _) => s.residual,
            FastKind::Linear(s) => s.residual,
        }
    }

    /// Emits the fast kernel function and a call of it for tasks `lo..hi`.
    #[allow(clippy::too_many_arguments)]
    pub fn emit<'ctx>(
        &self,
        k: &Kcx<'ctx, '_>,
        name: &str,
        out: PointerValue<'ctx>,
        x: PointerValue<'ctx>,
        res: Option<PointerValue<'ctx>>,
        lo: IntValue<'ctx>,
        hi: IntValue<'ctx>,
    ) -> R<()> {
        let f = match &self.kind {
            FastKind::Conv(s) => emit_conv_for(k.module, s, name, k.isa()),
            FastKind::Linear(s) => emit_linear_for(k.module, s, name, k.isa()),
            FastKind::Winograd(s, p) => emit_winograd(k.module, s, p, name, k.isa()),
        }
        .map_err(|e| CgError(format!("{name}: {}", e.message)))?;
        f.set_linkage(Linkage::Internal);
        set_target_attrs(f, k.cpu, k.features);
        let null = k.ptrt.const_null();
        let res = match (self.residual(), res) {
            (true, Some(r)) => r,
            (true, None) => return Err(CgError(format!("{name}: residual input missing"))),
            (false, _) => null,
        };
        let w = k.wptr(self.w_off)?;
        let b = match self.b_off {
            Some(o) => k.wptr(o)?,
            None => null,
        };
        k.b.build_call(
            f,
            &[
                x.into(),
                w.into(),
                b.into(),
                res.into(),
                out.into(),
                lo.into(),
                hi.into(),
            ],
            "",
        )?;
        Ok(())
    }
}
