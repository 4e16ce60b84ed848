//! Error messages in Swedish, for the project officers who read a submission's errors. The
//! codes stay the same in both languages; a program reads the code, a person the message.
//! The Swedish message says what is wrong in general terms, the field or cell says where.

use crate::domain::validation::FieldError;

/// The Swedish message of an error code.
pub fn message(code: &str) -> Option<&'static str> {
    Some(match code {
        "required" => "Får inte vara tomt.",
        "too_long" => "Texten är för lång.",
        "control_character" => "Texten innehåller otillåtna tecken (styrtecken).",
        "nul_character" => "Texten innehåller NUL-tecknet, som inte får förekomma.",
        "invalid_value" => "Värdet har fel form för det här fältet.",
        "invalid_ref" => "Projektets ref ska vara 1–64 skrivbara tecken utan snedstreck (/).",
        "duplicate" => "Förekommer mer än en gång i samma inrapportering.",
        "unknown_code" => "Koden finns inte i kodlistan; välj en kod ur listan.",
        "wrong_sakomrade" => "Fokusområdet hör inte till projektets sakområde.",
        "not_allowed" => "Det här fältet får inte anges här.",
        "negative" => "Får inte vara negativt.",
        "exceeds_budget" => "Beviljade medel får inte vara större än den totala budgeten.",
        "before_start" => "Slutdatumet får inte ligga före startdatumet.",
        "out_of_range" => "Värdet ligger utanför det tillåtna intervallet.",
        "too_many_decimals" => "För många decimaler för indikatorn.",
        "too_many_items" => "För många rader i en inrapportering; dela upp den.",
        "unknown_indicator" => "Indikatorn finns inte i den nationella katalogen.",
        "inactive_indicator" => {
            "Indikatorn används inte längre: en plan eller ett värde som lagrades innan dess kan skickas igen oförändrat, men inget nytt eller ändrat."
        }
        "derived_indicator" => {
            "Indikatorn räknas fram ur andra indikatorer och rapporteras inte själv."
        }
        "ratio_indicator" => "Indikatorn är en kvot och rapporteras genom sina delar.",
        "unknown_project" => "Projektet finns inte för regionen; lägg till det under Projekt.",
        "unknown_period" => "Halvåret finns inte.",
        "invalid_period" => "Perioden skrivs som ÅÅÅÅH1 eller ÅÅÅÅH2.",
        "period_not_started" => "Halvåret har inte börjat än.",
        "outside_project" => "Halvåret ligger utanför projektets start- och slutdatum.",
        "period_locked" => "Halvåret är stängt för rapportering.",
        "changed_since_template" => {
            "Cellen är ändrad i arbetsboken och har också ändrats i databasen sedan mallen hämtades; hämta en ny mall och gör ändringen där."
        }
        "invalid_template_version" => {
            "Arbetsbokens namn uppfoljning_dataversion är ändrat; utgå från en ny mall."
        }
        "report_signed_off" => {
            "Regionens rapport för halvåret är undertecknad; dra tillbaka den, eller låt den återsändas, för att ändra uppgifterna."
        }
        "values_outside_dates" => {
            "Det finns rapporterade värden eller berättelser utanför de nya datumen."
        }
        "no_sex_breakdown" => "Indikatorn redovisas inte per kön.",
        "sum_mismatch" => "Kvinnor + män + ej angivet ska vara lika med värdet.",
        "count_mismatch" => "Värdet ska vara lika med antalet företag i listan.",
        "invalid_orgnr" => {
            "Organisationsnumret är inte giltigt; det skrivs NNNNNN-NNNN och kontrollsiffran ska stämma."
        }
        "idempotency_key_reused" => {
            "Nyckeln (Idempotency-Key) har använts för andra uppgifter; använd en ny nyckel."
        }
        "invalid_idempotency_key" => "Nyckeln (Idempotency-Key) har fel form.",
        "invalid_query" => "Frågeparametrarna har fel form.",
        "invalid_csv" => "Filen är inte en läsbar CSV-fil.",
        "missing_columns" => {
            "Rubrikraden saknar kolumner: project_ref, indicator, period och minst en av value, kvinnor, man, ej_angivet, organisationsnummer."
        }
        "too_many_rows" => "Filen har för många rader; dela upp den.",
        "not_a_number" => "Här ska stå ett tal, med decimalkomma eller decimalpunkt.",
        "invalid_xlsx" => "Filen är ingen läsbar Excel-arbetsbok (.xlsx).",
        "workbook_too_large" => "Arbetsboken är för stor när den packas upp; dela upp den.",
        "missing_sheet" => "Ett blad från mallen saknas; utgå från mallen.",
        "unknown_sheet" => {
            "Arbetsboken har ett blad som inte läses; ta bort det eller flytta uppgifterna till mallens blad."
        }
        "wrong_header" => {
            "Rubriken ska vara densamma som i mallen; kolumner får inte byta namn eller plats."
        }
        "unknown_column" => "Kolumnen läses inte; skriv bara i mallens kolumner.",
        "merged_cells" => "Sammanfogade celler läses inte; dela upp dem.",
        "formula_without_value" => {
            "Cellen har en formel utan beräknat värde; öppna och spara arbetsboken i Excel, eller skriv in värdet."
        }
        "date_not_number" => "Här ska stå ett tal, inte ett datum; ändra cellens format till tal.",
        "not_an_integer" => "Här ska stå ett heltal.",
        "not_a_date" => "Här ska stå ett datum, ÅÅÅÅ-MM-DD.",
        "conflicting_comments" => {
            "En lista med företag har en kommentar; skriv den på en av listans rader."
        }
        _ => return None,
    })
}

/// Gives each error its Swedish message where there is one, led by what the English one
/// quotes (the code, sheet or text at fault): `'inget': Koden finns inte i kodlistan; …`.
pub fn translate(errors: &mut [FieldError]) {
    for error in errors {
        if let Some(swedish) = message(&error.code) {
            error.message = match quoted(&error.message) {
                Some(what) => format!("'{what}': {swedish}"),
                None => swedish.to_string(),
            };
        }
    }
}

/// The first text the message quotes in single quotes.
fn quoted(message: &str) -> Option<&str> {
    let (_, rest) = message.split_once('\'')?;
    let (what, _) = rest.split_once('\'')?;
    Some(what)
}

#[cfg(test)]
mod tests {
    use crate::domain::validation::FieldError;
    #[test]
    fn every_code_of_a_submission_has_a_swedish_message() {
        for code in [
            "required",
            "unknown_code",
            "too_many_decimals",
            "sum_mismatch",
            "period_locked",
            "report_signed_off",
            "formula_without_value",
            "date_not_number",
            "wrong_header",
        ] {
            assert!(super::message(code).is_some(), "{code}");
        }
        assert_eq!(super::message("no_such_code"), None);
    }

    #[test]
    fn what_the_english_message_quotes_leads_the_swedish_one() {
        let mut errors = [
            FieldError::new(
                "projects[0].sakomrade",
                "unknown_code",
                "no sakomrade 'inget'",
            ),
            FieldError::new("values[0].value", "negative", "must not be negative"),
            FieldError::new("x", "no_such_code", "as it was"),
        ];
        super::translate(&mut errors);
        assert_eq!(
            errors[0].message,
            "'inget': Koden finns inte i kodlistan; välj en kod ur listan."
        );
        assert_eq!(errors[1].message, "Får inte vara negativt.");
        assert_eq!(errors[2].message, "as it was");
    }
}
