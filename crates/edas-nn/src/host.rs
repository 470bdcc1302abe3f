//! Reading tensors back to the host.

use burn::prelude::*;

use crate::error::NnError;

/// The values of `tensor` as `f32`, row-major. A failed read (a backend
/// that cannot hand its data back, a device error surfacing at the sync) is
/// an error, never an empty vector.
pub fn to_host<const D: usize>(tensor: Tensor<D>) -> Result<Vec<f32>, NnError> {
    let dims = tensor.dims();
    tensor
        .into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .map_err(|e| NnError::Read(format!("a {dims:?} tensor: {e:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_come_back_row_major() {
        let device = Device::flex();
        let t: Tensor<2> = Tensor::from_data([[1.0f32, 2.0], [3.0, 4.0]], &device);
        assert_eq!(to_host(t).ok(), Some(vec![1.0, 2.0, 3.0, 4.0]));
    }
}
