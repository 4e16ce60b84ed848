//! The benchmarks' writes: a demo portfolio's plain values moved round by round, each round
//! a submission of its own, so that every answer after it is computed anew.

use uppfoljning::demo;
use uppfoljning::domain::submission::input::SubmissionInput;

/// Values of the portfolio without parts or enterprises, by region, `per_chunk` at most in
/// a submission: each round of writes changes them.
pub fn changed_values(
    portfolio: &demo::Portfolio,
    per_chunk: usize,
) -> Vec<(String, SubmissionInput)> {
    portfolio
        .iter()
        .map(|(region, submission)| {
            let values = submission
                .values
                .iter()
                .filter(|v| v.by_sex.is_none() && v.entities.is_none() && v.value.is_some())
                .take(per_chunk)
                .cloned()
                .collect();
            (
                region.clone(),
                SubmissionInput {
                    values,
                    ..SubmissionInput::default()
                },
            )
        })
        .collect()
}

/// Round `round` of writes: one region's values, each moved by the round.
pub fn shifted(writes: &[(String, SubmissionInput)], round: usize) -> (&String, SubmissionInput) {
    let (region, chunk) = &writes[round % writes.len()];
    let mut chunk = chunk.clone();
    for value in &mut chunk.values {
        value.value = value
            .value
            .map(|v| v + rust_decimal::Decimal::from(round as u64 % 1000 + 1));
    }
    (region, chunk)
}

/// Sends one submission as JSON; anything but 200 is an error.
pub fn submit(
    agent: &ureq::Agent,
    base: &str,
    token: &str,
    region: &str,
    chunk: &SubmissionInput,
) -> Result<(), String> {
    let body = serde_json::to_vec(chunk).map_err(|e| e.to_string())?;
    let mut response = agent
        .post(format!("{base}/api/v1/regions/{region}/submissions"))
        .header("Authorization", format!("Bearer {token}"))
        .header("Content-Type", "application/json")
        .send(&body[..])
        .map_err(|e| e.to_string())?;
    let text = response
        .body_mut()
        .read_to_string()
        .map_err(|e| e.to_string())?;
    if response.status() != 200 {
        return Err(format!(
            "submission refused: {}",
            &text[..text.len().min(500)]
        ));
    }
    Ok(())
}
