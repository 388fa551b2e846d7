//! ONNX `Reshape` target-shape resolution (`0` copies a dimension unless
//! `allowzero`, `-1` is inferred).

pub fn resolve(input: &[usize], target: &[i64], allowzero: bool) -> Result<Vec<usize>, String> {
    let product = |v: &[usize]| {
        v.iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .ok_or_else(|| format!("reshape target {target:?} has too many elements"))
    };
    let total = product(input)?;
    let mut out = Vec::with_capacity(target.len());
    let mut infer = None;
    for (i, &t) in target.iter().enumerate() {
        match t {
            -1 if infer.is_none() => {
                infer = Some(i);
                out.push(1);
            }
            0 if !allowzero => out.push(
                *input
                    .get(i)
                    .ok_or_else(|| format!("reshape target {target:?}: dimension {i} copies a dimension the input {input:?} does not have"))?,
            ),
            t if t >= 0 => out.push(usize::try_from(t).map_err(|_| format!("reshape target {target:?} is invalid"))?),
            _ => return Err(format!("reshape target {target:?} is invalid")),
        }
    }
    let known = product(&out)?;
    if let Some(i) = infer {
        if known == 0 || !total.is_multiple_of(known) {
            return Err(format!("cannot reshape {input:?} to {target:?}"));
        }
        out[i] = total / known;
    } else if known != total {
        return Err(format!(
            "cannot reshape {input:?} ({total} elements) to {target:?}"
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::resolve;

    #[test]
    fn zero_copies_and_minus_one_infers() {
        assert_eq!(resolve(&[1, 8, 4, 4], &[0, -1], false), Ok(vec![1, 128]));
        assert_eq!(
            resolve(&[1, 8, 4, 4], &[1, 2, 4, 4, 4], false),
            Ok(vec![1, 2, 4, 4, 4])
        );
        assert!(resolve(&[1, 8, 4, 4], &[3, -1], false).is_err());
        assert!(resolve(&[1, 8], &[-1, -1], false).is_err());
        assert!(resolve(&[2, 3], &[0, 0, 0], false).is_err());
        // fuzz: a target whose product overflows is an error, not a panic
        assert!(resolve(&[1, 8], &[1 << 40, 1 << 40, -1], false).is_err());
    }
}
