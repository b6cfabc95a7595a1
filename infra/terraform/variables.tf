variable "region" {
  description = "AWS region of the bucket."
  type        = string
  default     = "eu-central-1"
}

variable "bucket_name" {
  description = "Name of the bucket repod stores everything in (REPOD_STORAGE=s3://<bucket_name>/<prefix>)."
  type        = string
}

variable "prefix" {
  description = "Key prefix inside the bucket ('' for the whole bucket; 'a/b' for s3://bucket/a/b). The policy grants exactly this prefix."
  type        = string
  default     = ""
}

variable "create_user" {
  description = "Create an IAM user with an access key for repod (for servers outside AWS). Off when repod runs with a role (EC2 instance profile, EKS service account)."
  type        = bool
  default     = true
}

variable "role_name" {
  description = "An existing IAM role to attach the policy to (EKS IRSA, EC2 instance profile); empty for none."
  type        = string
  default     = ""
}

variable "noncurrent_days" {
  description = "Days before a deleted or overwritten object version is removed for good (versioning keeps what garbage collection deletes for this long)."
  type        = number
  default     = 30
}
