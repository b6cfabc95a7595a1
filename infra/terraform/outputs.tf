output "repod_storage" {
  description = "REPOD_STORAGE for every node."
  value       = "s3://${aws_s3_bucket.repod.bucket}${var.prefix == "" ? "" : "/${trimsuffix(var.prefix, "/")}"}"
}

output "region" {
  description = "AWS_REGION for every node."
  value       = var.region
}

output "policy_arn" {
  description = "The least-privilege policy, to attach to any other principal that runs repod."
  value       = aws_iam_policy.repod.arn
}

output "policy_json" {
  description = "The policy document (what test/infra/terraform.test.ts checks)."
  value       = data.aws_iam_policy_document.repod.json
}

output "access_key_id" {
  description = "AWS_ACCESS_KEY_ID (when create_user)."
  value       = var.create_user ? aws_iam_access_key.repod[0].id : null
}

output "secret_access_key" {
  description = "AWS_SECRET_ACCESS_KEY (when create_user): terraform output -raw secret_access_key."
  value       = var.create_user ? aws_iam_access_key.repod[0].secret : null
  sensitive   = true
}
